"""The evaluation suite wiring: one feature extraction, every evaluation (tools/evaluate.py: tests/benchmarks/cli)."""
import numpy as np
import pytest

from benchmarks.evals.base import list_evaluators
from benchmarks.evals.suite import EvalSuite, parse_evals

EVALS = dict(knn=dict(majority_ks=[1, 5], weighted_k=10, temperature=0.07),
             linear=dict(protocol='compress', epochs_scale=1.0, mode='cached'),
             retrieval=dict(dataset='val_split', ks=[1, 2, 4, 8]), ca=dict(nredo=2))


def _blobs(n_per_class, num_classes=4, dim=8, seed=0):
    centres = np.random.default_rng(123).normal(size=(num_classes, dim)) * 4  # shared by train and val
    g = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), n_per_class)
    return (centres[y] + g.normal(size=(len(y), dim))).astype(np.float32), y.astype(np.int64)


def _suite(names):
    return EvalSuite(dict(EVALS, suites=names))


def test_every_feature_evaluation_from_one_set_of_features():
    train_f, train_y = _blobs(200)
    val_f, val_y = _blobs(10, seed=1)
    m = _suite(['knn', 'linear', 'retrieval', 'ca']).evaluate_features(train_f, train_y, val_f, val_y, 4)
    for key in ('knn1_top1', 'knn5_top1', 'knn10w_top1', 'linear_top1', 'retrieval_r1', 'retrieval_r8', 'ca_top1'):
        assert 0 <= m[key] <= 100, key
    assert m['knn1_top1'] > 90 and m['linear_top1'] > 90 and m['retrieval_r1'] > 90
    # retrieval runs on the second half of the classes only: labels 2 and 3 of the val split
    from benchmarks.evals.retrieval import recall_at_k
    idx = val_y >= 2
    assert m['retrieval_r1'] == recall_at_k(val_f[idx], val_y[idx])['retrieval_r1']
    only_knn = _suite(['knn']).evaluate_features(train_f, train_y, val_f, val_y, 4)
    assert not any(k.startswith(('linear', 'retrieval', 'ca')) for k in only_knn)


def test_suite_names_are_checked():
    assert parse_evals('knn, linear') == ['knn', 'linear']
    assert parse_evals(list_evaluators()) == list_evaluators()
    with pytest.raises(ValueError, match='valid: knn, linear'):
        parse_evals('knn,linaer')


def test_caption_has_one_clause_per_selected_evaluation_in_run_order():
    caption = _suite(['ca', 'knn']).caption()
    assert caption.index('kNN') < caption.index('CA:') and 'linear' not in caption and caption.endswith('%')
