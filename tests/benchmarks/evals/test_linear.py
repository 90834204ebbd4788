"""Tests for benchmarks.evals.linear: agreement with scikit-learn's logistic regression, the
reference codes' training loop and schedule, train-only standardisation, and the augmented path."""
import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from benchmarks.data.datasets import EmbeddedDataset, ViewsPreprocessor
from benchmarks.evals.linear import (PROTOCOLS, FeatureTransform, linear_probe,
                                     linear_probe_augmented, lr_per_epoch, scaled_schedule)
from benchmarks.data.synthetic import SyntheticSpec
from methods.backbones import build_backbone

KEYS = {'linear_top1', 'linear_top5', 'linear_protocol', 'linear_epochs', 'linear_milestones',
        'linear_batch_size', 'linear_mode'}


def _blobs(n_classes, std, seed, n_train=2000, n_val=1000, dim=16):
    x, y = make_blobs(n_samples=n_train + n_val, n_features=dim, centers=n_classes,
                      cluster_std=std, center_box=(-5.0, 5.0), random_state=seed)
    x = x.astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _compress_inputs(xtr, xva):
    """CompRess head input computed independently in float64 numpy: L2, then train mean/var."""
    def l2(x):
        x = x.astype(np.float64)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    a, b = l2(xtr), l2(xva)
    mean, var = a.mean(axis=0), a.var(axis=0, ddof=1)   # torch.var_mean is unbiased
    return (a - mean) / np.sqrt(var + 1e-5), (b - mean) / np.sqrt(var + 1e-5)


def _sklearn_top1(xtr, ytr, xva, yva, weight_decay):
    # SGD on mean CE + wd/2 ||w||^2 has the optimum of sklearn's C = 1 / (wd * N); wd = 0 (MoCo)
    # is approximated by a very weak penalty.
    c = 1.0 / (weight_decay * len(xtr)) if weight_decay > 0 else 1e4
    clf = LogisticRegression(C=c, max_iter=5000).fit(xtr, ytr)
    return 100.0 * clf.score(xva, yva)


# std 1.5: separable, both near 100. std 5: overlapping blobs, sklearn at 76-86 %.
@pytest.mark.parametrize('std,seed', [(1.5, 0), (5.0, 0), (5.0, 1)])
def test_compress_matches_logistic_regression(std, seed):
    xtr, ytr, xva, yva = _blobs(5, std, seed)
    res = linear_probe(xtr, ytr, xva, yva, protocol='compress')
    assert set(res) == KEYS and res['linear_mode'] == 'cached'
    assert res['linear_epochs'] == 40 and res['linear_milestones'] == '15,30'
    htr, hva = _compress_inputs(xtr, xva)   # sklearn sees the same head inputs
    ref = _sklearn_top1(htr, ytr, hva, yva, PROTOCOLS['compress']['weight_decay'])
    if std > 2:
        assert 70.0 < ref < 90.0    # the comparison is not saturated
    assert abs(res['linear_top1'] - ref) <= 2.0, (res, ref)


@pytest.mark.parametrize('std,seed', [(1.5, 0), (5.0, 0), (5.0, 1)])
def test_moco_matches_logistic_regression(std, seed):
    xtr, ytr, xva, yva = _blobs(5, std, seed)
    # MoCo's lr 30 is tuned for ResNet avgpool features (magnitudes ~0.1-1); scale the blobs to
    # that range. A linear classifier's accuracy does not depend on the scale, sklearn sees raw blobs.
    res = linear_probe(0.1 * xtr, ytr, 0.1 * xva, yva, protocol='moco', epochs_scale=0.25)
    assert res['linear_epochs'] == 25 and res['linear_milestones'] == '15,20'
    ref = _sklearn_top1(xtr, ytr, xva, yva, PROTOCOLS['moco']['weight_decay'])
    if std > 2:
        assert 70.0 < ref < 90.0
    assert abs(res['linear_top1'] - ref) <= 2.0, (res, ref)


def test_top5_determinism_and_input_types():
    xtr, ytr, xva, yva = _blobs(10, 5.0, 2, n_train=600, n_val=300)
    res = linear_probe(xtr, ytr, xva, yva, protocol='compress', epochs_scale=0.5, seed=3)
    assert res['linear_top1'] <= res['linear_top5'] < 100.0
    assert 0.0 < res['linear_top1'] < 100.0
    assert all(isinstance(res[k], float) for k in ('linear_top1', 'linear_top5'))
    again = linear_probe(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xva),
                         torch.from_numpy(yva), protocol='compress', epochs_scale=0.5, seed=3)
    assert again == res
    # The seed drives the head's init and the shuffling: some seed must change the outcome.
    others = [linear_probe(xtr, ytr, xva, yva, protocol='compress', epochs_scale=0.5, seed=s)
              for s in (4, 5, 6)]
    assert any((o['linear_top1'], o['linear_top5']) != (res['linear_top1'], res['linear_top5'])
               for o in others)
    # Fewer than 5 classes: top-5 is 100 by definition (same convention as knn.py).
    few = linear_probe(*_blobs(3, 5.0, 0, n_train=300, n_val=100), protocol='moco', epochs_scale=0.1)
    assert few['linear_top5'] == 100.0 and few['linear_top1'] < 100.0


def test_matches_reference_training_loop():
    """The CompRess eval_linear.py loop written with nn.Sequential, nn.Linear and MultiStepLR
    (evaluated once, after the last epoch), fed the same random draws, gives the same numbers."""
    xtr, ytr, xva, yva = _blobs(10, 5.0, 4, n_train=500, n_val=300)
    scale, bs, seed = 0.25, 64, 7
    res = linear_probe(xtr, ytr, xva, yva, protocol='compress', epochs_scale=scale, seed=seed,
                       batch_size=bs)
    assert res['linear_milestones'] == '4,8' and res['linear_batch_size'] == bs

    class Normalize(torch.nn.Module):
        def forward(self, x):
            return x / x.norm(2, dim=1, keepdim=True)

    class FullBatchNorm(torch.nn.Module):
        def __init__(self, var, mean):
            super().__init__()
            self.register_buffer('inv_std', 1.0 / torch.sqrt(var + 1e-5))
            self.register_buffer('mean', mean)

        def forward(self, x):
            return (x - self.mean) * self.inv_std

    xt, xv = torch.from_numpy(xtr), torch.from_numpy(xva)
    yt, yv = torch.from_numpy(ytr), torch.from_numpy(yva)
    var, mean = torch.var_mean(Normalize()(xt), dim=0)
    gen = torch.Generator().manual_seed(seed)
    fc = torch.nn.Linear(16, 10)
    with torch.no_grad():   # nn.Linear's default U(-1/sqrt(16), 1/sqrt(16)), drawn from gen
        fc.weight.copy_((torch.rand(10, 16, generator=gen) * 2 - 1) / 4)
        fc.bias.copy_((torch.rand(10, generator=gen) * 2 - 1) / 4)
    head = torch.nn.Sequential(Normalize(), FullBatchNorm(var, mean), fc)
    opt = torch.optim.SGD(head.parameters(), 0.01, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[4, 8, 10])
    for _ in range(10):
        perm = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), bs):
            idx = perm[start:start + bs]
            loss = torch.nn.functional.cross_entropy(head(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    with torch.no_grad():
        logits = head(xv)
    top1 = 100.0 * int((logits.argmax(1) == yv).sum()) / len(yv)
    top5 = 100.0 * int((logits.topk(5, 1).indices == yv[:, None]).any(1).sum()) / len(yv)
    assert res['linear_top1'] == pytest.approx(top1) and res['linear_top5'] == pytest.approx(top5)


def test_feature_transform_matches_numpy():
    rng = np.random.default_rng(0)
    xtr = rng.normal(size=(50, 8)).astype(np.float32) + 3.0
    xva = rng.normal(size=(20, 8)).astype(np.float32) - 1.0
    t = FeatureTransform.fit(torch.from_numpy(xtr), 'compress')
    ref_tr, ref_va = _compress_inputs(xtr, xva)
    np.testing.assert_allclose(t(torch.from_numpy(xtr)).numpy(), ref_tr, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(t(torch.from_numpy(xva)).numpy(), ref_va, rtol=1e-4, atol=1e-4)
    # Val features go through the train statistics: they are not re-centred.
    assert np.abs(t(torch.from_numpy(xva)).numpy().mean(axis=0)).max() > 1.0
    ident = FeatureTransform.fit(torch.from_numpy(xtr), 'moco')
    assert torch.equal(ident(torch.from_numpy(xva)), torch.from_numpy(xva))


@pytest.mark.parametrize('cls', [0, 2])
def test_standardisation_uses_train_statistics_only(cls):
    # Val = held-out samples of ONE class. With train statistics they stay where that class lives
    # (about 100 % correct); standardising val with its own mean would centre them at the origin,
    # among all classes (measured: 14-24 % for this data).
    x, y = make_blobs(n_samples=500, n_features=16, centers=4, cluster_std=1.5,
                      center_box=(-5.0, 5.0), random_state=0)
    x = x.astype(np.float32)
    keep = y[400:] == cls
    res = linear_probe(x[:400], y[:400], x[400:][keep], y[400:][keep], protocol='compress',
                       num_classes=4)
    assert res['linear_top1'] >= 95.0
    # L2 normalisation comes first, so scaling all features by a constant changes nothing.
    scaled = linear_probe(3.0 * x[:400], y[:400], 3.0 * x[400:][keep], y[400:][keep],
                          protocol='compress', num_classes=4)
    assert scaled['linear_top1'] == res['linear_top1']


def _multistep_reference(lr, epochs, milestones):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(milestones) + [epochs])
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return lrs


def test_schedule_scaling():
    assert scaled_schedule('compress') == (40, (15, 30))
    assert scaled_schedule('moco') == (100, (60, 80))
    assert scaled_schedule('moco', 0.25) == (25, (15, 20))
    assert scaled_schedule('compress', 0.1) == (4, (2, 3))      # 1.5 rounds up to 2
    assert scaled_schedule('compress', 0.05) == (2, (1,))       # 0.75 -> 1; 1.5 -> 2 = end, dropped
    assert scaled_schedule('compress', 0.01) == (1, ())         # at least one epoch, no drop at 0
    lrs = lr_per_epoch('compress')
    assert lrs == pytest.approx([0.01] * 15 + [1e-3] * 15 + [1e-4] * 10)
    assert lr_per_epoch('moco', 0.25) == pytest.approx([30.0] * 15 + [3.0] * 5 + [0.3] * 5)
    for name in PROTOCOLS:
        for scale in (1.0, 0.5, 0.25, 0.1, 0.05, 2.0):
            epochs, milestones = scaled_schedule(name, scale)
            ref = _multistep_reference(PROTOCOLS[name]['lr'], epochs, milestones)
            assert lr_per_epoch(name, scale) == pytest.approx(ref)
    with pytest.raises(ValueError, match='epochs_scale'):
        scaled_schedule('compress', 0.0)


def test_bad_inputs_raise():
    xtr, ytr, xva, yva = _blobs(3, 1.0, 0, n_train=30, n_val=10)
    with pytest.raises(ValueError, match='unknown linear protocol'):
        linear_probe(xtr, ytr, xva, yva, protocol='simclr')
    with pytest.raises(ValueError, match='labels must lie'):
        linear_probe(xtr, ytr, xva, yva, num_classes=2)
    with pytest.raises(ValueError, match='widths'):
        linear_probe(xtr, ytr, xva[:, :5], yva)


TINY = SyntheticSpec(num_classes=3, train_per_class=10, val_per_class=4, image_size=32)


def test_augmented_path(tmp_path):
    train = EmbeddedDataset('train', TINY, ['center'], seed=0, cache_dir=tmp_path)
    val = EmbeddedDataset('val', TINY, ['center'], seed=0, cache_dir=tmp_path)
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    backbone.train()   # must be put in eval mode for the probe and restored afterwards
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    seen = []
    backbone.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))

    res = linear_probe_augmented(backbone, train, val, protocol='compress', epochs_scale=2 / 40,
                                 recipe='compress', seed=0)
    assert set(res) == KEYS and res['linear_mode'] == 'augmented' and res['linear_epochs'] == 2
    assert 0.0 <= res['linear_top1'] <= res['linear_top5'] == 100.0

    # Backbone untouched: parameters, BN running statistics and counters, training flag, grads.
    after = backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert backbone.training and all(p.grad is None for p in backbone.parameters())

    # Inputs: centre views of val and train (standardisation statistics), then the compress views
    # of epoch 0 and epoch 1, exactly as the dataset seeds them per (epoch, index).
    pre = ViewsPreprocessor()
    aug = train.with_recipes(['compress'])
    epoch_views = [pre.normalise(aug.collate_fn()([aug[(e, i)] for i in range(len(train))])[1][0])
                   for e in (0, 1)]
    centre = pre.normalise(train.images)
    train_inputs = [x for x in seen if len(x) == len(train)]
    assert len(train_inputs) == 3
    assert any(torch.equal(x, centre) for x in train_inputs)
    for views in epoch_views:
        assert sum(torch.equal(x, views) for x in train_inputs) == 1
    assert not torch.equal(epoch_views[0], epoch_views[1])
    assert not torch.equal(epoch_views[0], centre)

    # Deterministic for a fixed seed; the moco protocol needs no centre-view statistics.
    assert linear_probe_augmented(backbone, train, val, protocol='compress', epochs_scale=2 / 40) == res
    seen.clear()
    moco = linear_probe_augmented(backbone, train, val, protocol='moco', epochs_scale=0.02)
    assert moco['linear_epochs'] == 2 and moco['linear_protocol'] == 'moco'
    assert sum(len(x) == len(train) for x in seen) == 2
