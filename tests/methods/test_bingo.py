"""BINGO: the loss against a numpy re-computation, CutMix by hand, kNN bags against brute force, the
method's step against the official formula, and the partner views of the data pipeline."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmarks.data.batch_views import BatchViews
from benchmarks.data.datasets import ViewDataset
from benchmarks.data.views import partner_choice
from benchmarks.engine.runner import build_method
from benchmarks.teachers.outputs import TeacherOutputs
from methods import get_method
from methods.kmeans import faiss_knn_bags
from methods.losses import bingo_loss, bingo_paper_loss, cutmix, cutmix_box, queue_ce
from tests.helpers import STUDENT, prepare_context, random_batch, unit_rows


def _np_ce(s, t, queue, tau):
    """Per-row cross-entropy with the positive s·t first, written out in numpy (float64)."""
    out = []
    for si, ti in zip(s, t):
        logits = np.concatenate([[si @ ti], queue @ si]) / tau
        m = logits.max()
        out.append(-(logits[0] - m - np.log(np.exp(logits - m).sum())))
    return np.array(out)


def _unit(rng, *shape):
    return unit_rows(rng.normal(size=shape)).astype(np.float32)


def test_queue_ce_matches_numpy():
    rng = np.random.default_rng(0)
    s, t, q = _unit(rng, 5, 8), _unit(rng, 5, 8), _unit(rng, 7, 8)
    got = queue_ce(torch.from_numpy(s), torch.from_numpy(t), torch.from_numpy(q), 0.2).numpy()
    np.testing.assert_allclose(got, _np_ce(s.astype(np.float64), t, q, 0.2), rtol=1e-5)


@pytest.mark.parametrize('weights,lam', [((1.0, 0.0), 0.3), ((0.5, 0.5), 0.8125)])
def test_official_objective_matches_numpy(weights, lam):
    rng = np.random.default_rng(1)
    sa, sp, sm, ta, tp = (_unit(rng, 6, 4) for _ in range(5))
    q = _unit(rng, 9, 4)
    w0, w1 = weights
    ce = lambda s, t: _np_ce(s.astype(np.float64), t, q, 0.2)  # noqa: E731
    expected = np.mean(w0 * ce(sa, ta) + w1 * ce(sa, tp) + w1 * ce(sp, ta) + w0 * ce(sp, tp)
                       + lam * ce(sm, ta) + (1 - lam) * ce(sm, tp)) / 3
    t = [torch.from_numpy(a) for a in (sa, sp, sm, ta, tp, q)]
    got = bingo_loss(*t[:5], t[5], 0.2, lam, weights)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    four = np.mean(w0 * ce(sa, ta) + w1 * ce(sa, tp) + w1 * ce(sp, ta) + w0 * ce(sp, tp)) / 2
    assert bingo_loss(t[0], t[1], None, t[3], t[4], t[5], 0.2, lam, weights).item() == pytest.approx(four, rel=1e-5)
    paper = bingo_paper_loss(t[0], t[1], t[3], t[5], 0.2)
    assert paper.item() == pytest.approx(np.mean(ce(sa, ta) + ce(sp, ta)), rel=1e-5)


def test_teacher_embeddings_get_no_gradient():
    s = F.normalize(torch.randn(3, 4), dim=1).requires_grad_()
    t = F.normalize(torch.randn(3, 4), dim=1).requires_grad_()
    queue_ce(s, t, F.normalize(torch.randn(5, 4), dim=1), 0.2).sum().backward()
    assert s.grad is not None and t.grad is None


def test_cutmix_box_and_area_by_hand():
    # lam 0.75 on 8 px: side int(8 · 0.5) = 4, centred at (x=1, y=6) -> rows 4..8, columns 0..3 (clipped)
    assert cutmix_box(0.75, 8, cx=1, cy=6) == (4, 0, 8, 3)
    a, p = torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    mixed, lam = cutmix(a, p, (4, 0, 8, 3))
    assert lam == pytest.approx(1 - 12 / 64)
    assert mixed.sum().item() == 2 * 3 * 12 and mixed[:, :, 4:, :3].eq(1).all() and a.eq(0).all()


def test_knn_bags_match_brute_force_and_exclude_the_sample():
    rng = np.random.default_rng(2)
    x = _unit(rng, 30, 6)
    x[7] = x[3]   # a duplicate: its nearest other row is 3, and the row itself must still be left out
    bags = faiss_knn_bags(torch.from_numpy(x), 4).numpy()
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1, kind='stable')[:, :4]
    assert bags.shape == (30, 4)
    assert all(i not in bags[i] for i in range(30))
    for i in range(30):   # the same neighbours (ties may be ordered differently)
        np.testing.assert_allclose(np.sort(sims[i, bags[i]]), np.sort(sims[i, expected[i]]), rtol=1e-5)
    assert bags[7][0] == 3 and bags[3][0] == 7
    with pytest.raises(ValueError, match='1 <= k'):
        faiss_knn_bags(torch.from_numpy(x), 30)


def test_prepare_builds_bags_from_teacher_backbone_features(tiny_teacher):
    ctx = prepare_context(tiny_teacher, n=12)
    bags = get_method('bingo').prepare(ctx, dict(bag_size=3))['bags']
    expected = faiss_knn_bags(F.normalize(ctx.teacher_features('backbone'), dim=1), 3)
    assert torch.equal(bags, expected)
    with pytest.raises(ValueError, match='bag_size'):
        get_method('bingo').prepare(ctx, dict(bag_size=12))


def _bingo(teacher, n=8, **hp):
    torch.manual_seed(0)
    cls = get_method('bingo')
    hp = dict(dict(queue_size=16, mlp_hidden=32), **hp)
    prepared = cls.prepare(prepare_context(teacher, n=n), hp)
    return build_method('bingo', hp, STUDENT, teacher, prepared=prepared)


def test_one_step_matches_the_official_objective(tiny_teacher):
    method = _bingo(tiny_teacher)
    assert method.head[0].out_features == 32 and method.head[2].out_features == tiny_teacher.feat_dims['head']
    method.train()
    method.set_progress(500, 1000)   # past the warm-up: (w0, w1) = (0.5, 0.5)
    index, views, label, teacher = method.data_preprocessor(random_batch(4, n=8, seed=3), training=True)
    assert teacher[0] is None and teacher[2] is None   # the teacher only sees xa2 and xp2
    batch = dict(index=index, views=views, label=label, teacher=teacher)
    queue = method.queue.bank.clone()
    torch.manual_seed(7)
    loss = method.loss(batch)['loss_bingo']
    # independently: draw the same box, mix, and evaluate the official formula
    torch.manual_seed(7)
    lam0 = float(torch.distributions.Beta(2.0, 2.0).sample())
    cx, cy = (int(v) for v in torch.randint(0, views[0].shape[-1], (2,)))
    top, left, bottom, right = cutmix_box(lam0, views[0].shape[-1], cx, cy)
    xm = views[0].clone()
    xm[:, :, top:bottom, left:right] = views[2][:, :, top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / views[0].shape[-1] ** 2
    emb = lambda x: F.normalize(method.head(method.student(x)), dim=1)  # noqa: E731
    ta, tp = F.normalize(teacher[1]['head'], dim=1), F.normalize(teacher[3]['head'], dim=1)
    sa, sp, sm = emb(views[0]), emb(views[2]), emb(xm)
    ce = lambda s, t: queue_ce(s, t, queue, 0.2)  # noqa: E731
    expected = (0.5 * ce(sa, ta) + 0.5 * ce(sa, tp) + 0.5 * ce(sp, ta) + 0.5 * ce(sp, tp)
                + lam * ce(sm, ta) + (1 - lam) * ce(sm, tp)).mean() / 3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # the queue now holds the teacher's anchor embeddings (no student key encoder exists)
    assert torch.allclose(method.queue.bank[:8], ta, atol=1e-6)
    assert not any('key' in k for k in method.state_dict())


def test_warm_up_uses_only_the_own_view_positive(tiny_teacher):
    method = _bingo(tiny_teacher)
    method.set_progress(0, 1000)
    assert method.weights() == (1.0, 0.0)
    method.set_progress(55, 1000)   # 11 / 200 of training
    assert method.weights() == (0.5, 0.5)
    assert get_method('bingo').check_hyperparameters(dict(neighbour_weight=1.5, warmup_fraction=-0.1)) == [
        'neighbour_weight=1.5 must be a number in [0, 1]', 'warmup_fraction=-0.1 must be a number in [0, 1]']


class _Images(ViewDataset):
    """12 distinct flat images (value = 10 · index) of 8 px, in memory."""

    def __init__(self, recipes, batched):
        super().__init__(recipes, image_size=8, seed=3)
        self.batched_views = batched
        self.images = torch.stack([torch.full((3, 8, 8), 10 * i, dtype=torch.uint8) for i in range(12)])
        self.labels = np.zeros(12, dtype=np.int64)
        self.classes = ['x']

    def load(self, i):
        return self.images[i]


BAGS = np.array([[(i + 1) % 12, (i + 2) % 12, (i + 5) % 12] for i in range(12)])


@pytest.mark.parametrize('batched', [True, False])
def test_partner_views_show_a_seeded_member_of_the_bag(batched):
    data = _Images(['compress'] * 4, batched).with_partners(BAGS, 2)
    keys = [(2, i) for i in range(12)]
    batch = data.collate_fn()([data[k] for k in keys])
    again = data.collate_fn()([data[k] for k in keys])
    for a, b in zip(batch[1], again[1]):
        assert torch.equal(a, b)
    for row, i in enumerate(range(12)):
        partner = BAGS[i][partner_choice(3, 2, i, 3)]
        assert partner == data.partner_of(2, i)
        # flat images: a crop shows the image's own value, so views 0-1 show i and views 2-3 the partner
        assert set(batch[1][0][row].unique().tolist()) == {10 * i}
        assert set(batch[1][2][row].unique().tolist()) == {10 * partner}
    # every bag member is drawn over the epochs, and nothing outside the bag
    drawn = {data.partner_of(e, 0) for e in range(40)}
    assert drawn == set(BAGS[0])
    # the partner's views are seeded like the anchor's view numbers 2 and 3 (so the stream is a function of
    # the anchor index); with_recipes drops the partners
    if batched:
        bv = BatchViews('compress', 8)
        p = bv.sample_params(3, 2, [0], 2, 8, 8)
        expected = bv.apply(data.images[[data.partner_of(2, 0)]], p)
        assert torch.equal(batch[1][2][:1], expected)
    assert data.with_recipes(['center']).partner_views == 0


def test_partner_arguments_are_checked():
    data = _Images(['compress'] * 4, True)
    with pytest.raises(ValueError, match=r'\[12, k >= 1\]'):
        data.with_partners(BAGS[:5], 2)
    with pytest.raises(ValueError, match='outside the dataset'):
        data.with_partners(BAGS + 12, 2)
    with pytest.raises(ValueError, match='partner views must be 1..3'):
        data.with_partners(BAGS, 4)


def test_partner_views_are_never_shared(tiny_teacher):
    from benchmarks.teachers.outputs import TeacherOutputCache
    cache = TeacherOutputCache(slots=1, num_samples=8, dims=dict(tiny_teacher.feat_dims), dtype='float32')
    outputs = TeacherOutputs(tiny_teacher, cache, recipe='mocov2@32', shared_views=2)
    views = [torch.randn(8, 3, 32, 32) for _ in range(4)]
    out = outputs(torch.arange(8), views, only=(1, 3))
    assert out[0] is None and out[2] is None and out[1] is not None and out[3] is not None
    assert ('mocov2@32', 1) in outputs._written and ('mocov2@32', 3) not in outputs._written
