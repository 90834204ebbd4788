"""Cluster classification: faiss k-means, the cached prepare step, and the CE on cluster ids."""
import pytest
import torch

from benchmarks.engine.prepare import build_prepare_context
from benchmarks.engine.runner import build_method
from methods import get_method
from methods.cluster import default_num_clusters
from methods.kmeans import faiss_kmeans


def test_kmeans_recovers_separated_blobs():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])
    truth = torch.arange(3).repeat_interleave(20)
    x = centres[truth] + 0.1 * torch.randn(60, 2, generator=g)
    assign, cents = faiss_kmeans(x, 3, seed=0)
    assert cents.shape == (3, 2) and assign.dtype == torch.long
    # same partition up to a relabelling
    for c in range(3):
        assert len(set(assign[truth == c].tolist())) == 1
    assert len(set(assign.tolist())) == 3


def test_default_k_scales_with_the_dataset():
    assert default_num_clusters(1_281_167) == 16015
    assert default_num_clusters(5000) == 62
    assert default_num_clusters(10) == 2


def test_prepare_is_cached_and_keyed_by_the_teacher(tiny_teacher, tmp_path):
    from benchmarks.data.datasets import EmbeddedDataset
    from benchmarks.data.synthetic import SyntheticSpec
    spec = SyntheticSpec(num_classes=3, train_per_class=8, val_per_class=2, image_size=32)
    train = EmbeddedDataset('train', spec, ('center',), 0, tmp_path / 'data')
    logs = []
    ctx = build_prepare_context(train, tiny_teacher, dict(type='embedded', num_classes=3), 0, 'cpu',
                                log=logs.append, cache_dir=tmp_path)
    out1 = get_method('cc').prepare(ctx, dict(num_clusters=3))
    assert out1['assignments'].shape == (24,) and int(out1['assignments'].max()) <= 2
    assert len(list((tmp_path / 'prepared' / 'cc_kmeans').glob('*.pt'))) == 1
    out2 = get_method('cc').prepare(ctx, dict(num_clusters=3))
    assert torch.equal(out1['assignments'], out2['assignments'])
    assert any('reusing' in m for m in logs)
    # another k is another cache entry
    get_method('cc').prepare(ctx, dict(num_clusters=2))
    assert len(list((tmp_path / 'prepared' / 'cc_kmeans').glob('*.pt'))) == 2


def test_cc_loss_is_cross_entropy_on_the_assigned_cluster(tiny_teacher):
    torch.manual_seed(0)
    assignments = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    method = build_method('cc', {}, dict(arch='resnet18', width=0.125), tiny_teacher,
                          prepared=dict(assignments=assignments))
    assert method.classifier.out_features == 3
    method.eval()
    x = torch.randn(4, 3, 32, 32)
    index = torch.tensor([7, 2, 3, 5])
    logits = method.classifier(method.student(x))
    expected = -torch.log_softmax(logits, 1)[torch.arange(4), assignments[index]].mean()
    out = method.loss(dict(index=index, views=[x], label=None))
    assert out['loss_ce'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_cc_without_assignments_says_how_to_get_them(tiny_teacher):
    with pytest.raises(ValueError, match='prepare'):
        build_method('cc', {}, dict(arch='resnet18', width=0.125), tiny_teacher)


def test_teacher_features_are_extracted_once_per_context(tiny_teacher, tmp_path, monkeypatch):
    import benchmarks.engine.prepare as prep
    from benchmarks.data.datasets import EmbeddedDataset
    from benchmarks.data.synthetic import SyntheticSpec
    spec = SyntheticSpec(num_classes=3, train_per_class=8, val_per_class=2, image_size=32)
    train = EmbeddedDataset('train', spec, ('center',), 0, tmp_path / 'data')
    calls = []
    real = prep.extract_features
    monkeypatch.setattr(prep, 'extract_features', lambda *a, **k: calls.append(1) or real(*a, **k))
    ctx = build_prepare_context(train, tiny_teacher, dict(type='embedded'), 0, 'cpu', log=lambda m: None,
                                cache_dir=tmp_path)
    get_method('cc').prepare(ctx, dict(num_clusters=3))
    get_method('cc').prepare(ctx, dict(num_clusters=2))  # another k: new clustering, same features
    assert len(calls) == 1
