"""Tests for benchmarks.evals.retrieval (Recall@K, class-disjoint split); the datasets: tests/benchmarks/data."""
import numpy as np
import pytest
import torch

from benchmarks.evals.retrieval import class_disjoint_split, recall_at_k
from tests.helpers import unit_circle

KS = (1, 2, 4, 8)


# --- an independent reference: full similarity matrix, stable argsort, self removed by index ---------
def _reference(x, y, ks=KS, reverse_ties=False):
    x = np.asarray(x, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    # Elementwise product-sum (not BLAS): identical rows give bitwise-identical similarities.
    sims = (x[:, None, :] * x[None, :, :]).sum(-1)
    n = len(x)
    hits = np.zeros(len(ks), dtype=np.int64)
    for i in range(n):
        if reverse_ties:   # equal similarities: larger index first (only to show that ties matter)
            order = n - 1 - np.argsort(-sims[i, ::-1], kind='stable')
        else:
            order = np.argsort(-sims[i], kind='stable')
        order = order[order != i]
        for j, k in enumerate(ks):
            hits[j] += bool(np.any(y[order[:k]] == y[i]))
    return {f'retrieval_r{k}': 100.0 * int(h) / n for k, h in zip(ks, hits)}


def _tied_features(seed, n=120, d=16, classes=5):
    """±1 vectors in 16-D scaled by powers of two: normalisation and every dot product are exact in
    float32 (entries ±1/4, products 1/16), so similarities take only 17 values (massive ties) and
    any summation order gives the same bits. A quarter of the rows are copies of others, half of
    them with another label."""
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(n, d)) * 2.0 ** rng.integers(-3, 4, size=(n, 1))
    y = rng.integers(0, classes, n)
    src, dst = rng.integers(0, n, n // 4), rng.integers(0, n, n // 4)
    x[dst] = x[src]
    y[dst[::2]] = y[src[::2]]
    return x.astype(np.float32), y


def _gaussian_features(seed, n=200, d=8, classes=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d))
    y = rng.integers(0, classes, n)
    x = centres[y] + 1.5 * rng.normal(size=(n, d))
    src, dst = rng.integers(0, n, 20), rng.integers(0, n, 20)
    x[dst] = x[src]                       # exact duplicates, with their own (random) labels
    return x.astype(np.float32), y


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_matches_bruteforce_with_ties_and_duplicates(seed):
    x, y = _tied_features(seed)
    ks = (1, 2, 3, 4, 8, 16)
    res = recall_at_k(x, y, ks)
    assert res == _reference(x, y, ks)
    assert all(isinstance(v, float) for v in res.values())
    assert 0.0 < res['retrieval_r1'] < res['retrieval_r16'] < 100.0


def test_tie_rule_is_what_the_bruteforce_checks():
    # On the tied data the opposite tie order gives other numbers, so the equality above does
    # test the documented rule (equal similarity: smaller index first), not just the easy cases.
    differs = False
    for seed in range(4):
        x, y = _tied_features(seed)
        differs |= _reference(x, y, KS) != _reference(x, y, KS, reverse_ties=True)
    assert differs


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_bruteforce_on_gaussian_features(seed):
    x, y = _gaussian_features(seed)
    ks = (1, 2, 4, 8, 32)
    res = recall_at_k(x, y, ks)
    assert res == _reference(x, y, ks)
    assert 10.0 < res['retrieval_r1'] < res['retrieval_r8'] < 100.0


@pytest.mark.parametrize('block_size', [1, 3, 17])
def test_blocked_equals_unblocked(block_size):
    for x, y in (_tied_features(5), _gaussian_features(5)):
        whole = recall_at_k(x, y, block_size=len(x))
        assert recall_at_k(x, y, block_size=block_size) == whole
        assert recall_at_k(x, y) == whole          # automatic block size


def test_torch_inputs_and_scale_invariance():
    x, y = _gaussian_features(7)
    ref = recall_at_k(x, y)
    assert recall_at_k(torch.from_numpy(x), torch.from_numpy(y)) == ref
    assert recall_at_k(x * 7.0, y) == ref
    assert set(ref) == {'retrieval_r1', 'retrieval_r2', 'retrieval_r4', 'retrieval_r8'}


def test_hand_worked_example():
    # Points on the unit circle (angle -> label); p3 and p4 are the same point with other labels.
    #   p0 0->0  p1 10->1  p2 30->0  p3 100->1  p4 100->2  p5 180->2  p6 185->2
    # Neighbour labels, nearest first (self excluded), and the rank of the first same-class one:
    #   q0: p1(1) p2(0)                        -> rank 1
    #   q1: p0(0) p2(0) p3(1)                  -> rank 2
    #   q2: p1(1) p0(0)                        -> rank 1
    #   q3: p4(2, the duplicate, distance 0) p2(0) p5(2) p6(2) p1(1) -> rank 4
    #   q4: p3(1, the duplicate) p2(0) p5(2)   -> rank 2
    #   q5: p6(2) -> rank 0;   q6: p5(2) -> rank 0
    # R@1 = 2/7, R@2 = 4/7 (+q0, q2), R@4 = 6/7 (+q1, q4), R@8 = 7/7 (+q3).
    x = unit_circle([0, 10, 30, 100, 100, 180, 185])
    y = np.array([0, 1, 0, 1, 2, 2, 2])
    res = recall_at_k(x, y)
    assert res == pytest.approx({'retrieval_r1': 200 / 7, 'retrieval_r2': 400 / 7,
                                 'retrieval_r4': 600 / 7, 'retrieval_r8': 100.0}, abs=1e-12)


def test_hand_worked_ties_and_duplicate_of_query():
    # a=(1,0) label 0; b=c=(0,1), labels 1 and 0 (duplicates); d=(-1,0) label 1. Exact similarities.
    # qa: b and c tie at 0; b (smaller index, label 1) first -> R@1 miss, R@2 hit.
    # qb: c (its duplicate, sim 1, label 0) -> miss; then a and d tie at 0, a (label 0) first ->
    #     R@2 miss; d at rank 2 -> R@3 hit.
    # qc: b (label 1) -> miss; then a (label 0) -> R@2 hit.
    # qd: b and c tie at 0; b (label 1) first -> R@1 hit.
    x = np.array([[1, 0], [0, 1], [0, 1], [-1, 0]], dtype=np.float32)
    y = np.array([0, 1, 0, 1])
    assert recall_at_k(x, y, (1, 2, 3)) == {'retrieval_r1': 25.0, 'retrieval_r2': 75.0, 'retrieval_r3': 100.0}
    # A duplicate of the query with the query's class is its nearest neighbour (self excluded by
    # index, not by distance).
    assert recall_at_k(np.array([[1, 0], [1, 0], [0, 1]], np.float32), np.array([5, 5, 6]), (1,)) == \
        {'retrieval_r1': 200 / 3}


def test_singleton_class_misses_and_large_k():
    x = unit_circle([0, 5, 90, 180])
    y = np.array([0, 0, 1, 2])        # classes 1 and 2 have no other sample: never a hit
    assert recall_at_k(x, y, (1, 3, 10)) == {'retrieval_r1': 50.0, 'retrieval_r3': 50.0, 'retrieval_r10': 50.0}


def test_zero_vector_is_allowed():
    x = np.array([[0, 0], [1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    y = np.array([1, 0, 0, 1])
    assert recall_at_k(x, y, (1, 2)) == _reference(x, y, (1, 2))


def test_recall_errors():
    x, y = unit_circle([0, 10, 20]), np.array([0, 0, 1])
    for kwargs, msg in [(dict(ks=()), 'ks is empty'), (dict(ks=(0, 1)), 'K must be >= 1'),
                        (dict(block_size=0), 'block_size')]:
        with pytest.raises(ValueError, match=msg):
            recall_at_k(x, y, **kwargs)
    with pytest.raises(ValueError, match='at least 2 samples'):
        recall_at_k(x[:1], y[:1])
    with pytest.raises(ValueError, match='length mismatch'):
        recall_at_k(x, y[:2])
    with pytest.raises(ValueError, match='2-D'):
        recall_at_k(x.ravel(), y)
    bad = x.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        recall_at_k(bad, y)


# --- class-disjoint split ---------------------------------------------------------------------------
def test_class_disjoint_split_counts():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat(np.arange(10), np.arange(1, 11)))    # class c has c + 1 samples
    train, test = class_disjoint_split(y)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    assert set(y[train]) == {0, 1, 2, 3, 4} and set(y[test]) == {5, 6, 7, 8, 9}
    assert len(train) == 1 + 2 + 3 + 4 + 5 and len(test) == 6 + 7 + 8 + 9 + 10
    assert np.all(np.diff(train) > 0) and train.dtype == np.int64 and test.dtype == np.int64

    # Odd count: the test half gets the extra class (13 shapes -> 6 train, 7 test).
    train, test = class_disjoint_split(np.arange(13))
    assert train.tolist() == list(range(6)) and test.tolist() == list(range(6, 13))

    # Without num_classes the cut is over the ids present; with it, over 0..C-1 (absent ones count).
    y = np.array([0, 1, 2, 7, 7, 9])
    assert class_disjoint_split(y)[1].tolist() == [2, 3, 4, 5]                     # ids {0,1,2,7,9}: 2, 7, 9
    assert class_disjoint_split(y, num_classes=10)[1].tolist() == [3, 4, 5]        # ids 5..9
    with pytest.raises(ValueError, match='labels must lie'):
        class_disjoint_split(y, num_classes=5)

    # CUB-sized class list: 200 classes -> 100 / 100.
    y = np.repeat(np.arange(200), 3)
    train, test = class_disjoint_split(y, num_classes=200)
    assert len(np.unique(y[train])) == 100 and y[test].min() == 100
