"""Runner pieces: weights-only-safe checkpoint state, schedules, budget errors."""
import io

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from benchmarks.engine.runner import _from_plain, _param_schedulers, _to_plain


def test_message_hub_state_round_trips_through_weights_only_load():
    hub = MessageHub.get_instance('test_plain_ckpt')
    for i in range(5):
        hub.update_scalar('train/loss', float(i), count=2)
    hub.update_info('iter', 5)
    state = hub.state_dict()
    buf = io.BytesIO()
    torch.save(_to_plain(state), buf)
    buf.seek(0)
    loaded = _from_plain(torch.load(buf, weights_only=True))
    restored = loaded['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer)
    assert restored.data[0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert restored.data[1].tolist() == [2, 2, 2, 2, 2]
    assert restored.mean(5) == pytest.approx(hub.get_scalar('train/loss').mean(5))
    assert loaded['runtime_info']['iter'] == 5


def test_schedules():
    cos = _param_schedulers(dict(epochs=10, schedule=dict(type='cosine', warmup_epochs=2)))
    assert [s['type'] for s in cos] == ['LinearLR', 'CosineAnnealingLR'] and cos[1]['T_max'] == 8
    step = _param_schedulers(dict(epochs=10, schedule=dict(type='step', milestones=[5, 8], gamma=0.2)))
    assert step[0]['milestones'] == [5, 8] and step[0]['gamma'] == 0.2
    with pytest.raises(ValueError, match='cosine'):
        _param_schedulers(dict(epochs=3, schedule=dict(type='poly')))


def test_runner_reports_training_progress_to_the_method(tmp_path, cache_dir):
    """MoCo v3's momentum ramp and SlimCLR's slow start read ``progress``; the runner must set it."""
    from benchmarks.data.datasets import EmbeddedDataset
    from benchmarks.engine.runner import train_method
    from benchmarks.data.synthetic import SyntheticSpec
    spec = SyntheticSpec(num_classes=2, train_per_class=8, val_per_class=1, image_size=32)
    train = EmbeddedDataset('train', spec, ('mocov2', 'mocov2'), 0, tmp_path / 'data')
    budget = dict(epochs=2, batch_size=8, optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
                  schedule=dict(type='constant'), log_interval=1, checkpoint_interval=2)
    seen = []
    from methods.moco_v3 import MoCoV3
    original = MoCoV3.set_progress

    def spy(self, iteration, max_iters):
        seen.append((iteration, max_iters))
        original(self, iteration, max_iters)

    MoCoV3.set_progress = spy
    try:
        result = train_method('moco_v3', {}, dict(arch='resnet18', width=0.125), None, train, budget,
                              tmp_path / 'work', seed=0, device='cpu')
    finally:
        MoCoV3.set_progress = original
    assert seen == [(i, 4) for i in range(4)]
    assert result.method.progress == 0.75 and result.method.current_momentum() > 0.99


@pytest.mark.parametrize('method, cfg', [('compress_2q', dict(bank_size=64)), ('seed', dict(queue_size=64)),
                                         ('crd', dict(num_negatives=16))])
def test_no_host_device_sync_inside_training_steps(method, cfg, tmp_path, monkeypatch, tiny_teacher, cache_dir):
    """Every ``.item()`` / ``bool()`` / ``float()`` on a tensor is a host-device sync on a GPU. Over 24
    steps with one log interval, the whole training (runner, hooks, method) may read the device only a
    constant number of times: at the log interval and divergence check, never per step."""
    from benchmarks.data.sources import build_datasets
    from benchmarks.engine.runner import train_method
    train, *_ = build_datasets(dict(type='embedded', num_classes=4, train_per_class=48, val_per_class=2,
                                   image_size=32, seed=0), ['compress'], 0)
    calls = []
    for name in ('item', '__bool__', '__float__'):
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, **k):
            calls.append(1)
            return _original(self, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, counted)
    budget = dict(epochs=2, batch_size=16, optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
                  schedule=dict(type='cosine'), log_interval=24, checkpoint_interval=100)
    prepared = dict(num_samples=len(train)) if method == 'crd' else None   # what CRD.prepare returns
    result = train_method(method, cfg, dict(arch='resnet18', width=0.125), tiny_teacher, train, budget, tmp_path,
                          0, 'cpu', prepared=prepared)
    assert result.iterations == 24
    assert len(calls) <= 10, f'{len(calls)} device reads in 24 steps'
