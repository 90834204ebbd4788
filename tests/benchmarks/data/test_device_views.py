"""Views made on the training device (``budget.views_on='device'``): the loader hands over uint8 images
and per-sample parameters (`PendingViews`), `ViewsPreprocessor` makes the pixels. Same views as the
collate-time path (exactly on the CPU; within float rounding on CUDA)."""
import numpy as np
import pytest
import torch

from benchmarks.data.batch_views import BatchViews, PendingViews
from benchmarks.data.datasets import ArrayDataset, ViewsPreprocessor
from benchmarks.engine.runner import check_budget, views_on_device
from benchmarks.errors import ConfigError

RECIPES = ['mocov2', 'mocov2_strong', 'compress', 'center']


def _data(recipes=RECIPES, n=12, size=24, image=32, seed=5):
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (n, 3, image, image), dtype=np.uint8))
    return ArrayDataset(images, np.arange(n) % 3, ['a', 'b', 'c'], recipes, size, seed)


def _batch(data, keys, on_device):
    return data.collate_fn(views_on_device=on_device)([data[k] for k in keys])


def test_pending_views_are_the_collate_time_views():
    data = _data()
    keys = [(3, i) for i in (7, 0, 11, 4)]
    eager = _batch(data, keys, False)
    pending = _batch(data, keys, True)
    assert isinstance(pending[1], PendingViews) and torch.equal(pending[0], eager[0])
    assert all(src.dtype == torch.uint8 and src.shape == (4, 3, 32, 32) for src in pending[1].sources)
    assert len({id(src) for src in pending[1].sources}) == 1   # every view reads the one image batch
    made = pending[1].make()
    assert len(made) == len(RECIPES)
    for a, b in zip(made, eager[1]):
        assert a.dtype == torch.uint8 and a.shape == (4, 3, 24, 24) and torch.equal(a, b)


def test_preprocessor_makes_pending_views():
    data = _data()
    keys = [(1, i) for i in range(6)]
    pre = ViewsPreprocessor()
    from_pending = pre(_batch(data, keys, True))
    from_eager = pre(_batch(data, keys, False))
    for a, b in zip(from_pending[1], from_eager[1]):
        assert a.dtype == torch.float32 and torch.equal(a, b)
    # the parameters are drawn per (seed, epoch, index, view): another epoch, other views
    other = pre(_batch(data, [(2, i) for i in range(6)], True))
    assert not torch.equal(other[1][0], from_pending[1][0])


def test_pending_partner_views():
    data = _data(['compress'] * 3, n=6).with_partners(np.array([[1], [2], [3], [4], [5], [0]]), 1)
    keys = [(0, i) for i in range(6)]
    pending, eager = _batch(data, keys, True), _batch(data, keys, False)
    sources = pending[1].sources
    assert sources[0] is sources[1] and sources[2] is not sources[0]   # two own views, one partner view
    for a, b in zip(pending[1].make(), eager[1]):
        assert torch.equal(a, b)


def test_where_the_views_are_made():
    cpu, gpu = torch.device('cpu'), torch.device('cuda', 0)
    assert not views_on_device({}, cpu) and views_on_device({}, gpu)
    assert views_on_device(dict(views_on='device'), cpu) and not views_on_device(dict(views_on='loader'), gpu)
    with pytest.raises(ConfigError, match="budget.views_on='gpu'"):
        check_budget(dict(batch_size=8, views_on='gpu'), 'cpu')


def test_training_with_device_views_is_the_same_run(tmp_path):
    """compress_2q trained with views made in the preprocessor: the same losses and weights as with views
    made by the collate function (on the CPU both are the same arithmetic)."""
    from benchmarks.engine.runner import train_method
    from tests.helpers import STUDENT
    data = _data(['compress'], n=32, size=32, image=32)
    budget = dict(epochs=1, batch_size=8, optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0),
                  schedule=dict(type='cosine', warmup_epochs=0), num_workers=0, log_interval=1,
                  checkpoint_interval=1)
    from benchmarks.perf.common import build_teacher
    teacher = build_teacher(dict(arch='resnet18', width=0.125, small_input=False))
    cfg = dict(bank_size=16)
    results = {}
    for where in ('loader', 'device'):
        res = train_method('compress_2q', cfg, STUDENT, teacher, data, dict(budget, views_on=where), tmp_path / where,
                           seed=0, desc=f'views-{where}')
        results[where] = {k: v.detach().clone() for k, v in res.method.student.state_dict().items()}
    assert results['loader'].keys() == results['device'].keys()
    for k in results['loader']:
        assert torch.equal(results['loader'][k], results['device'][k]), k


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (run on a lent GPU machine)')
def test_cuda_views_match_the_cpu_views():
    data = _data()
    keys = [(4, i) for i in range(12)]
    pending = _batch(data, keys, True)[1]
    cpu = pending.make()
    cuda = pending.make(torch.device('cuda'))
    for a, b in zip(cpu, cuda):
        assert b.device.type == 'cuda'
        assert (a.int() - b.cpu().int()).abs().max() <= 1   # float rounding: at most one grey level
