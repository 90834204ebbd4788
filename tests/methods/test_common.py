"""FeatureQueue: FIFO pointer movement, wrap-around, any batch size, initialisations, EMA update."""
import math

import torch
from torch import nn

from methods.common import FeatureQueue, ema_update, l2_normalize


def test_pointer_moves_and_wraps_around():
    q = FeatureQueue(size=5, dim=2)
    a = torch.arange(6, dtype=torch.float32).view(3, 2)      # rows 0..2
    q.enqueue(a)
    assert q.ptr.item() == 3
    assert torch.equal(q.bank[:3], a)
    b = torch.full((3, 2), 9.0)                               # rows 3, 4, then wraps to 0
    q.enqueue(b)
    assert q.ptr.item() == 1
    assert torch.equal(q.bank[3:5], b[:2]) and torch.equal(q.bank[0], b[2])
    assert torch.equal(q.bank[1:3], a[1:3])                   # oldest surviving entries untouched


def test_batch_larger_than_queue_keeps_last_rows():
    q = FeatureQueue(size=4, dim=1)
    x = torch.arange(10, dtype=torch.float32).view(10, 1)
    q.enqueue(x)
    assert sorted(q.bank.view(-1).tolist()) == [6.0, 7.0, 8.0, 9.0]
    assert q.ptr.item() == 0


def test_uniform_init_is_compress_style_and_normal_init_is_unit_norm():
    torch.manual_seed(0)
    d = 12
    u = FeatureQueue(size=1000, dim=d, init='uniform')
    stdv = 1.0 / math.sqrt(d / 3)
    assert u.bank.abs().max().item() <= stdv
    assert u.bank.min().item() < -0.9 * stdv and u.bank.max().item() > 0.9 * stdv
    n = FeatureQueue(size=10, dim=d, init='normal')
    assert torch.allclose(n.bank.norm(dim=1), torch.ones(10), atol=1e-6)


def test_queue_state_is_in_state_dict():
    q = FeatureQueue(size=3, dim=2)
    q.enqueue(torch.ones(2, 2))
    state = q.state_dict()
    r = FeatureQueue(size=3, dim=2)
    r.load_state_dict(state)
    assert r.ptr.item() == 2 and torch.equal(r.bank, q.bank)


def test_ema_update_parameters_only():
    src, dst = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    with torch.no_grad():
        src.weight.fill_(1.0)
        dst.weight.fill_(0.0)
        src.running_mean.fill_(5.0)
    ema_update(dst, src, momentum=0.9)
    assert torch.allclose(dst.weight, torch.full((2,), 0.1))
    assert torch.equal(dst.running_mean, torch.zeros(2))


def test_l2_normalize_handles_zero_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    y = l2_normalize(x)
    assert torch.allclose(y[0], torch.tensor([0.6, 0.8])) and torch.equal(y[1], torch.zeros(2))
