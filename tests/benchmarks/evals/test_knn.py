"""Tests for benchmarks.evals.knn: agreement with scikit-learn and a hand-worked example."""
import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.neighbors import KNeighborsClassifier

from benchmarks.evals.knn import knn_evaluate
from tests.helpers import unit_circle, unit_rows

T = 0.07


def _blobs(n_classes, seed):
    # Wide clusters so that accuracies sit well below 100 and the rules actually differ.
    x, y = make_blobs(n_samples=800, n_features=16, centers=n_classes, cluster_std=6.0,
                      center_box=(-5.0, 5.0), random_state=seed)
    x = x.astype(np.float32)
    return x[:600], y[:600], x[600:], y[600:]


def _acc(pred, y):
    # Same arithmetic as knn_evaluate (count first, then scale) so equality can be exact.
    return 100.0 * int(np.sum(pred == y)) / len(y)


@pytest.mark.parametrize('seed', [0, 1])
def test_majority_matches_sklearn(seed):
    xtr, ytr, xva, yva = _blobs(5, seed)
    res = knn_evaluate(xtr, ytr, xva, yva, majority_ks=(1, 20), weighted_k=None,
                       tie_break='smallest_label')
    assert set(res) == {'knn1_top1', 'knn20_top1'}
    for k in (1, 20):
        clf = KNeighborsClassifier(n_neighbors=k, metric='euclidean').fit(unit_rows(xtr), ytr)
        expected = _acc(clf.predict(unit_rows(xva)), yva)
        assert res[f'knn{k}_top1'] == expected
    assert 20.0 < res['knn20_top1'] < 100.0  # the data is not trivially separable


@pytest.mark.parametrize('seed', [0, 1])
def test_weighted_matches_sklearn(seed):
    # 10 classes so that top-5 is a real test, not automatically 100.
    xtr, ytr, xva, yva = _blobs(10, seed)
    res = knn_evaluate(xtr, ytr, xva, yva, majority_ks=(), weighted_k=200, temperature=T)
    assert set(res) == {'knn200w_top1', 'knn200w_top5'}

    # On unit vectors d^2 = 2 - 2 cos, so cos = 1 - d^2 / 2.
    clf = KNeighborsClassifier(n_neighbors=200, metric='euclidean',
                               weights=lambda d: np.exp((1.0 - d ** 2 / 2.0) / T))
    clf.fit(unit_rows(xtr), ytr)
    proba = clf.predict_proba(unit_rows(xva))
    top5 = clf.classes_[np.argsort(-proba, axis=1, kind='stable')[:, :5]]
    assert res['knn200w_top1'] == _acc(clf.predict(unit_rows(xva)), yva)
    hits = (top5 == yva[:, None]).any(axis=1)
    assert res['knn200w_top5'] == 100.0 * int(hits.sum()) / len(yva)
    assert res['knn200w_top1'] < res['knn200w_top5'] < 100.0


def test_batching_and_torch_inputs_do_not_change_results():
    xtr, ytr, xva, yva = _blobs(5, 3)
    ref = knn_evaluate(xtr, ytr, xva, yva, majority_ks=(1, 20), weighted_k=50)
    small = knn_evaluate(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xva),
                         torch.from_numpy(yva), majority_ks=(1, 20), weighted_k=50, batch_size=7)
    assert ref == small
    assert all(isinstance(v, float) for v in ref.values())
    # Features are normalised inside: rescaling them changes nothing.
    scaled = knn_evaluate(xtr * 3.0, ytr, xva * 0.1, yva, majority_ks=(1, 20), weighted_k=50)
    assert scaled == ref


# Six training points on the unit circle (angle in degrees -> label):
#   A 0 -> 1,  B 10 -> 0,  C 20 -> 0,  D 30 -> 1,  E 180 -> 2,  F 190 -> 2
TRAIN_X = unit_circle([0, 10, 20, 30, 180, 190])
TRAIN_Y = np.array([1, 0, 0, 1, 2, 2])
# q1 at 1 deg (true label 1): angular distances A 1, B 9, C 19, D 29, F 171, E 179
#   -> neighbour labels in order 1, 0, 0, 1, 2, 2
# q2 at 184 deg (true label 2): E 4, F 6, D 154, C 164, B 174, A 176
#   -> neighbour labels in order 2, 2, 1, 0, 0, 1
VAL_X = unit_circle([1, 184])
VAL_Y = np.array([1, 2])


def test_hand_worked_majority_ties():
    # k=1: q1 -> 1 (A), q2 -> 2 (E): both right under either tie-break.
    # k=2: q1 votes {1: 1, 0: 1}, a tie. 'nearest' takes label 1 (A is ranked first) -> right;
    #      'smallest_label' takes 0 -> wrong. q2 votes {2: 2} -> right.
    # k=4: q1 votes {1: 2 (A, D), 0: 2 (B, C)}, again a tie: 'nearest' -> 1 (A is rank 0, B rank 1)
    #      -> right; 'smallest_label' -> 0 -> wrong. q2 votes {2: 2, 1: 1, 0: 1} -> 2, right.
    kw = dict(majority_ks=(1, 2, 4), weighted_k=None)
    near = knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, tie_break='nearest', **kw)
    small = knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, tie_break='smallest_label', **kw)
    assert near == {'knn1_top1': 100.0, 'knn2_top1': 100.0, 'knn4_top1': 100.0}
    assert small == {'knn1_top1': 100.0, 'knn2_top1': 50.0, 'knn4_top1': 50.0}


def test_hand_worked_weighted():
    # weighted_k=4, T=1, q1: class 1 <- A (cos 1 = 0.99985) + D (cos 29 = 0.87462):
    #   e^0.99985 + e^0.87462 = 2.7179 + 2.3979 = 5.1158
    # class 0 <- B (cos 9 = 0.98769) + C (cos 19 = 0.94552): 2.6851 + 2.5741 = 5.2592
    # so the two closer-on-average class-0 neighbours outweigh the single nearest one: predict 0,
    # wrong (whereas the 4-NN 'nearest' majority vote above was right).
    # q2: class 2 <- E + F = e^cos4 + e^cos6 = 2.7117 + 2.7034 = 5.4151, beating class 1
    # (D, cos 154 = -0.8988: 0.4071) and class 0 (C, cos 164 = -0.9613: 0.3824): right.
    # Only 3 classes, so top-5 is 100 by definition.
    res = knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(4,), weighted_k=4,
                       temperature=1.0)
    assert res == {'knn4_top1': 100.0, 'knn4w_top1': 50.0, 'knn4w_top5': 100.0}


def test_num_classes_default_and_explicit():
    # Explicit num_classes above the max label changes nothing but the (unused) class range.
    a = knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1,), weighted_k=4)
    b = knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1,), weighted_k=4, num_classes=3)
    assert a == b
    with pytest.raises(ValueError, match='labels must lie'):
        knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1,), weighted_k=None,
                     num_classes=2)


def test_k_larger_than_train_set_raises():
    with pytest.raises(ValueError, match='exceeds the number of training samples'):
        knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1, 20), weighted_k=None)
    with pytest.raises(ValueError, match='exceeds the number of training samples'):
        knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1,), weighted_k=200)


def test_bad_tie_break_raises():
    with pytest.raises(ValueError, match='tie_break'):
        knn_evaluate(TRAIN_X, TRAIN_Y, VAL_X, VAL_Y, majority_ks=(1,), tie_break='random')
