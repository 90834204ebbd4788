"""The runner's per-step calls into the method (Method.set_progress before, Method.after_step after)."""
from types import SimpleNamespace

from benchmarks.engine.runner import TrainingProgressHook


class _Recorder:
    def __init__(self):
        self.calls = []

    def set_progress(self, iteration, max_iters):
        self.calls.append(('progress', iteration, max_iters))

    def after_step(self):
        self.calls.append(('after_step',))


def test_progress_before_and_after_step_around_every_iteration():
    method = _Recorder()
    hook = TrainingProgressHook()
    for wrapped in (False, True):   # a DDP-wrapped model exposes the method as .module
        method.calls.clear()
        model = SimpleNamespace(module=method) if wrapped else method
        for it in range(3):
            runner = SimpleNamespace(model=model, iter=it, max_iters=10)
            hook.before_train_iter(runner, it)
            hook.after_train_iter(runner, it)
        assert method.calls == [('progress', 0, 10), ('after_step',), ('progress', 1, 10), ('after_step',),
                                ('progress', 2, 10), ('after_step',)]
