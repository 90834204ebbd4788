"""CRD: NCE loss and scores against straightforward re-computations, memories and Z, a train step."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper

from benchmarks.engine.runner import build_method
from methods.common import l2_normalize
from methods.losses import crd_nce_loss, crd_normaliser, crd_scores
from tests.helpers import prepare_context, random_batch

STUDENT = dict(arch='resnet18', width=0.125)


def test_scores_match_a_loop():
    g = torch.Generator().manual_seed(0)
    v = l2_normalize(torch.randn(3, 4, generator=g))
    bank = l2_normalize(torch.randn(10, 4, generator=g))
    idx = torch.tensor([[0, 5, 7], [1, 1, 2], [2, 9, 3]])
    out = crd_scores(v, bank, idx, 0.07)
    for i in range(3):
        for j in range(3):
            expected = math.exp(sum(float(bank[idx[i, j], d] * v[i, d]) for d in range(4)) / 0.07)
            assert out[i, j].item() == pytest.approx(expected, rel=1e-5)


def test_dense_and_gathered_scores_agree():
    # a bank of at most 2 (K + 1) rows is scored densely, a larger one by gathering its rows
    g = torch.Generator().manual_seed(1)
    v = l2_normalize(torch.randn(4, 8, generator=g))
    small, large = (l2_normalize(torch.randn(n, 8, generator=g)) for n in (10, 40))
    idx = torch.randint(0, 10, (4, 6), generator=g)
    dense = crd_scores(v, small, idx, 0.1)
    gathered = crd_scores(v, torch.cat([small, large]), idx, 0.1)   # 50 rows > 2 * 6: the gather path
    assert torch.allclose(dense, gathered, rtol=1e-5)
    expected = torch.exp(torch.einsum('bkd,bd->bk', small[idx], v) / 0.1)
    assert torch.allclose(dense, expected, rtol=1e-5)


def test_nce_loss_matches_eq18_by_hand():
    p = torch.tensor([[0.5, 0.1, 0.2], [0.05, 0.3, 0.01]])
    n_data, k = 20, 2
    pn = 1 / n_data
    total = 0.0
    for row in p.tolist():
        total += math.log(row[0] / (row[0] + k * pn + 1e-7))
        total += sum(math.log(k * pn / (x + k * pn + 1e-7)) for x in row[1:])
    assert crd_nce_loss(p, n_data).item() == pytest.approx(-total / 2, rel=1e-6)


def test_normaliser_is_mean_times_n():
    s = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert crd_normaliser(s, 100).item() == pytest.approx(300.0)


def _crd(teacher, n=8, **hp):
    torch.manual_seed(0)
    hp = dict(dict(num_negatives=4), **hp)
    from methods import get_method
    prepared = get_method('crd').prepare(prepare_context(teacher, n=n), hp)
    return build_method('crd', hp, STUDENT, teacher, prepared=prepared)


def test_memory_is_per_sample_with_momentum_and_z_is_set_once(tiny_teacher):
    method = _crd(tiny_teacher, n=16)
    assert method.memory_s.shape == (16, 128) and method.memory_t.shape == (16, 128)
    before = method.memory_s.clone()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.0))
    method.train()
    batch = random_batch(n=8)
    method.train_step(batch, opt)
    z_s = method.z_s.clone()
    assert z_s > 0 and method.z_t > 0
    # rows 0..7 were written (unit norm), rows 8..15 untouched
    assert torch.allclose(method.memory_s[:8].norm(dim=1), torch.ones(8), atol=1e-5)
    assert torch.equal(method.memory_s[8:], before[8:])
    # the update is norm(0.5 * old + 0.5 * v_s) with v_s the student embedding of the batch
    with torch.no_grad():
        x = method.data_preprocessor(batch)[1][0]
        v_s = l2_normalize(method.embed_s(method.student(x)))
    assert torch.allclose(method.memory_s[:8], l2_normalize(0.5 * before[:8] + 0.5 * v_s), atol=1e-4)
    method.train_step(random_batch(n=8, seed=1), opt)
    assert torch.equal(method.z_s, z_s), 'Z must stay fixed after the first batch'


def test_too_many_negatives_is_a_clear_error(tiny_teacher):
    from methods import get_method
    with pytest.raises(ValueError, match='num_negatives'):
        get_method('crd').prepare(prepare_context(tiny_teacher, n=8), dict(num_negatives=8))


def test_crd_trains_and_embeds_are_trainable(tiny_teacher):
    method = _crd(tiny_teacher)
    names = {n for n, p in method.named_parameters() if p.requires_grad}
    assert any(n.startswith('embed_t.') for n in names) and any(n.startswith('embed_s.') for n in names)
    w = method.embed_t.weight.clone()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1))
    method.train()
    for step in range(2):
        out = method.train_step(random_batch(n=8, seed=step), opt)
        assert torch.isfinite(out['loss'])
    assert not torch.equal(w, method.embed_t.weight), 'the teacher-side embed is trained (official CRD)'
