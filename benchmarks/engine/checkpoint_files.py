"""Epoch checkpoints that a kill at any moment leaves resumable.

mmengine's `CheckpointHook` (0.10) writes ``epoch_N.pth`` and the ``last_checkpoint`` pointer in place,
and with ``max_keep_ckpts`` it deletes the previous checkpoint *before* writing the next one. A run
killed inside that save (a teacher's epoch checkpoint is a few hundred MB) left ``last_checkpoint``
naming a deleted file, or naming a truncated one, and every later launch of the same command failed
while resuming. `AtomicCheckpointHook` keeps mmengine's behaviour (interval, ``save_last``, file names,
the checkpoint's contents) and changes only the order and the writes: the checkpoint goes to a
temporary name and is renamed into place, then ``last_checkpoint`` is replaced atomically, and only
then are older checkpoints (and temporaries of killed processes) removed. At every moment the pointer
names a complete checkpoint.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from benchmarks.cachefill import publish, temporary_sibling, write_bytes


class AtomicCheckpointHook(CheckpointHook):
    """`CheckpointHook` whose saves are atomic (module doc); keeps the newest ``keep`` checkpoints."""

    def __init__(self, *args, keep: int = 1, **kwargs):
        if kwargs.pop('max_keep_ckpts', None) is not None:
            raise TypeError('AtomicCheckpointHook: pass keep=, not max_keep_ckpts=')
        super().__init__(*args, **kwargs)   # max_keep_ckpts=-1: the base deletes nothing, `_prune` does
        if keep < 1:
            raise ValueError(f'keep must be at least 1, got {keep}')
        self.keep = keep

    def _save_checkpoint_with_step(self, runner, step, meta):
        name = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        final = Path(self.last_ckpt)
        tmp = temporary_sibling(final)
        # Runner.save_checkpoint is master-only; every rank calls it, as in the base hook
        runner.save_checkpoint(self.out_dir, tmp.name, self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                               backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        publish(tmp, final)
        write_bytes(Path(runner.work_dir) / 'last_checkpoint', self.last_ckpt.encode())
        self._prune(final)

    def _prune(self, newest: Path) -> None:
        """Remove all but the newest ``keep`` checkpoints of this hook, and temporaries of killed saves."""
        folder = newest.parent
        for stale in folder.glob('.' + self.filename_tmpl.format('*') + '.*.tmp'):
            stale.unlink(missing_ok=True)
        prefix, _, suffix = self.filename_tmpl.partition('{}')
        steps = []
        for path in folder.glob(self.filename_tmpl.format('*')):
            middle = path.name[len(prefix):len(path.name) - len(suffix)]
            if middle.isdigit():
                steps.append((int(middle), path))
        for _, path in sorted(steps)[:-self.keep]:
            if path != newest:
                path.unlink(missing_ok=True)
