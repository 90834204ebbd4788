"""Runner pieces: weights-only-safe checkpoint state, schedules, budget errors."""
import io

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from benchmarks.runner import _from_plain, _param_schedulers, _to_plain


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
