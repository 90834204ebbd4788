"""DisCo: the distillation term against an independent computation, and one training step of the method
against the official formula (MoCo InfoNCE on view 1 + 32 × per-sample MSE-sum on both views)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmarks.engine.runner import build_method
from methods.losses import disco_distill_loss, infonce_loss
from tests.helpers import STUDENT, random_batch, unit_rows


def test_distill_loss_by_hand():
    s = [torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.6, 0.8], [1.0, 0.0]])]
    t = [torch.tensor([[0.0, 1.0], [0.0, 1.0]]), torch.tensor([[0.6, 0.8], [0.0, 1.0]])]
    # view 1: ‖(1,-1)‖² = 2 and 0 -> mean 1; view 2: 0 and 2 -> mean 1
    assert disco_distill_loss(s, t).item() == pytest.approx(2.0)


def test_distill_loss_equals_the_official_sum_reduction_over_a_32_batch():
    rng = np.random.default_rng(0)
    s = [torch.from_numpy(unit_rows(rng.normal(size=(32, 8))).astype(np.float32)) for _ in range(2)]
    t = [torch.from_numpy(unit_rows(rng.normal(size=(32, 8))).astype(np.float32)) for _ in range(2)]
    official = sum(F.mse_loss(a, b, reduction='sum') for a, b in zip(s, t))   # DisCo main.py, one GPU of 32
    assert (32 * disco_distill_loss(s, t)).item() == pytest.approx(official.item(), rel=1e-5)
    # on unit vectors: ‖a − b‖² = 2 − 2 cos
    cos = sum((a * b).sum(1).mean() for a, b in zip(s, t))
    assert disco_distill_loss(s, t).item() == pytest.approx((4 - 2 * cos).item(), rel=1e-5)


def test_teacher_gets_no_gradient_and_view_counts_must_match():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3, requires_grad=True)
    disco_distill_loss([s], [t]).backward()
    assert s.grad is not None and t.grad is None
    with pytest.raises(ValueError, match='2 student views but 1 teacher'):
        disco_distill_loss([s, s], [t])


def test_one_step_matches_the_official_objective(tiny_teacher):
    torch.manual_seed(0)
    method = build_method('disco', dict(queue_size=16, mlp_hidden=32), STUDENT, tiny_teacher)
    assert method.head[0].out_features == 32 and method.head[2].out_features == tiny_teacher.feat_dims['head']
    method.train()
    index, views, label, teacher = method.data_preprocessor(random_batch(2, n=8, seed=3), training=True)
    batch = dict(index=index, views=views, label=label, teacher=teacher)
    queue = method.queue.bank.clone()
    key_before = {k: v.clone() for k, v in method.key_student.state_dict().items()}
    torch.manual_seed(5)
    losses = method.loss(batch)
    # independently: the same forward passes, then the official formula
    views = batch['views']
    q1 = F.normalize(method.head(method.student(views[0])), dim=1)
    q2 = F.normalize(method.head(method.student(views[1])), dim=1)
    torch.manual_seed(5)
    k = method._keys(views[1])   # the key encoder was updated once by method.loss, before its keys
    t1, t2 = (F.normalize(o['head'], dim=1) for o in batch['teacher'])
    expected_moco = infonce_loss(q1, k, queue, 0.2)
    expected_dis = (F.mse_loss(q1, t1, reduction='sum') + F.mse_loss(q2, t2, reduction='sum')) / 8 * 32
    assert losses['loss_infonce'].item() == pytest.approx(expected_moco.item(), rel=1e-4)
    assert losses['loss_distill'].item() == pytest.approx(expected_dis.item(), rel=1e-4)
    assert torch.allclose(method.queue.bank[:8], k, atol=1e-6)            # student keys enqueued
    moved = [n for n, v in method.key_student.state_dict().items() if not torch.equal(v, key_before[n])]
    assert moved                                                           # EMA before the keys

