"""MoCo v3: the loss against an explicit loop, its symmetry and gradient flow, the cosine momentum
ramp, a few training steps and a checkpoint round trip."""
import copy
import math

import pytest
import torch
from mmengine.optim import OptimWrapper

import methods.losses.moco_v3 as loss_module
from benchmarks.engine.runner import build_method
from methods.losses.moco_v3 import contrastive_loss, moco_v3_loss
from methods.moco_v3 import MoCoV3, cosine_momentum
from tests.helpers import STUDENT, random_batch


def _unit(x):
    return x / x.norm(dim=1, keepdim=True)


def _fixed(seed, n=3, d=4):
    g = torch.Generator().manual_seed(seed)
    return _unit(torch.randn(n, d, generator=g, dtype=torch.float64))


def _direction_reference(q, k, tau, offset=0):
    """2τ · mean_i −log( exp(q_i·k_{offset+i}/τ) / Σ_j exp(q_i·k_j/τ) ), with explicit loops."""
    q, k = q.tolist(), k.tolist()
    total = 0.0
    for i in range(len(q)):
        sims = [sum(a * b for a, b in zip(q[i], k[j])) / tau for j in range(len(k))]
        total += -(sims[offset + i] - math.log(sum(math.exp(s) for s in sims)))
    return 2 * tau * total / len(q)


@pytest.mark.parametrize('tau', [1.0, 0.2])
def test_loss_matches_loop_reference(tau):
    q1, q2, k1, k2 = (_fixed(s) for s in range(4))
    expected = _direction_reference(q1, k2, tau) + _direction_reference(q2, k1, tau)
    assert moco_v3_loss(q1, q2, k1, k2, tau).item() == pytest.approx(expected, rel=1e-12)
    assert contrastive_loss(q1, k2, tau).item() == pytest.approx(_direction_reference(q1, k2, tau), rel=1e-12)


def test_loss_hand_worked():
    # N = 2, T = 1, k = q = identity rows: logits [[1, 0], [0, 1]] -> CE = log(1 + e^-1) per row, times 2T = 2
    q = torch.eye(2)
    assert contrastive_loss(q, q, 1.0).item() == pytest.approx(2 * math.log(1 + math.exp(-1)), rel=1e-6)


def test_loss_is_symmetric_in_the_views():
    q1, q2, k1, k2 = (_fixed(s, n=5, d=6) for s in range(4, 8))
    assert moco_v3_loss(q1, q2, k1, k2).item() == pytest.approx(moco_v3_loss(q2, q1, k2, k1).item(), rel=1e-12)


def test_gradient_flows_into_queries_only():
    q1, q2, k1, k2 = (_fixed(s).requires_grad_(True) for s in range(4))
    moco_v3_loss(q1, q2, k1, k2).backward()
    assert k1.grad is None and k2.grad is None
    assert q1.grad is not None and q2.grad.abs().sum() > 0


def test_labels_are_offset_by_rank_when_keys_are_gathered(monkeypatch):
    # emulate rank 1 of 2: the gathered keys are [other rank's keys; ours], so the positive of row i is N + i
    q, k, other = _fixed(0), _fixed(1), _fixed(2)
    monkeypatch.setattr(loss_module, 'is_distributed', lambda: True)
    monkeypatch.setattr(loss_module.dist, 'get_rank', lambda: 1)
    monkeypatch.setattr(loss_module, 'concat_all_gather', lambda x: torch.cat([other, x]))
    expected = _direction_reference(q, torch.cat([other, k]), 1.0, offset=3)
    assert contrastive_loss(q, k, 1.0).item() == pytest.approx(expected, rel=1e-12)


def test_cosine_momentum_schedule():
    assert cosine_momentum(0.99, 0.0) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 0.5) == pytest.approx(0.995)
    assert cosine_momentum(0.99, 1.0) == pytest.approx(1.0)
    method = MoCoV3(STUDENT, dim=16)
    for it, expected in [(0, 0.99), (50, 0.995), (100, 1.0)]:
        method.set_progress(it, 100)
        assert method.current_momentum() == pytest.approx(expected)
    constant = MoCoV3(STUDENT, dim=16, momentum_cos=False)
    constant.set_progress(50, 100)
    assert constant.current_momentum() == 0.99


def _method():
    torch.manual_seed(0)
    return build_method('moco_v3', dict(dim=16), STUDENT, None)


def test_structure_and_hparams():
    method = _method()
    d = method.student.feat_dim
    assert method.hparams == dict(dim=16, mlp_hidden=None, temperature=1.0, momentum=0.99, momentum_cos=True,
                                  zero_init_residual=True)
    assert method.export_head() is method.head
    assert not method.head[-1].affine
    assert all(m.bias is None for m in method.modules() if isinstance(m, torch.nn.Linear))
    trainable = {id(p) for p in method.trainable_parameters()}
    assert not any(id(p) in trainable for p in method.momentum_student.parameters())
    assert not any(id(p) in trainable for p in method.momentum_head.parameters())
    assert all(id(p) in trainable for p in method.predictor.parameters())


def test_train_steps_update_student_and_momentum_encoder():
    method = _method()
    before = copy.deepcopy(method.state_dict())
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1, momentum=0.9))
    method.train()
    for step in range(3):
        method.set_progress(step, 10)
        log_vars = method.train_step(random_batch(2, seed=step), opt)
        assert torch.isfinite(log_vars['loss']).all()
    after = method.state_dict()

    def changed(prefix):
        return [k for k, v in after.items() if k.startswith(prefix) and v.dtype.is_floating_point
                and not torch.equal(v, before[k])]
    assert changed('student.') and changed('head.') and changed('predictor.')
    assert changed('momentum_student.') and changed('momentum_head.')
    feats = method.student_backbone()(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, method.student_backbone().feat_dim)


def test_state_dict_round_trip(tmp_path):
    method = _method()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1))
    method.train()
    method.train_step(random_batch(2), opt)
    path = tmp_path / 'moco_v3.pth'
    torch.save(method.state_dict(), path)
    state = torch.load(path, weights_only=True)
    fresh = _method()
    fresh.load_state_dict(state)
    assert set(state) == set(method.state_dict())
    for k, v in method.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
    method.eval(), fresh.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(method.embed(x), fresh.embed(x))
        assert torch.equal(method._key(x), fresh._key(x))
