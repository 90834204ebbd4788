"""The evaluator registry: discovery, run order, checks before work, declared columns."""
import pytest

from benchmarks.evals.base import Column, Evaluator, get_evaluator, list_evaluators, numbered_columns
from benchmarks.evals.suite import EvalSuite, parse_evals


def test_every_evaluation_is_registered_in_run_order():
    assert list_evaluators() == ['knn', 'linear', 'retrieval', 'ca', 'flops', 'latency', 'detection']
    for name in list_evaluators():
        assert get_evaluator(name).name == name and issubclass(get_evaluator(name), Evaluator)


def test_parse_evals_names_the_valid_ones():
    assert parse_evals('knn, linear') == ['knn', 'linear']
    with pytest.raises(ValueError, match='valid: knn, linear'):
        parse_evals('knn,lineer')


def test_suite_runs_in_registry_order_whatever_the_selection_order():
    assert EvalSuite(dict(suites=['flops', 'knn'], knn=dict(majority_ks=[1], weighted_k=None,
                                                           temperature=0.07))).names == ['knn', 'flops']


def test_checks_report_every_problem_before_work():
    problems = EvalSuite.check(dict(suites=['knn', 'linear', 'flops'], knn=dict(majority_ks=[0], tie_break='x'),
                                    linear=dict(protocol='sgd', mode='cached'), flops=dict(sizes=[-1])))
    text = ' '.join(problems)
    assert 'majority_ks' in text and 'tie_break' in text and "protocol='sgd'" in text and 'sizes' in text


def test_columns_come_from_the_evaluators():
    keys = {'knn20_top1', 'knn1_top1', 'knn200w_top1', 'knn1_top5', 'linear_top1', 'retrieval_r4', 'retrieval_r1',
            'gmacs_224', 'params_m', 'gmacs', 'latency_b64_ms', 'throughput_b64'}
    cols = [c for n in list_evaluators() for c in get_evaluator(n).columns(keys)]
    assert [c.header for c in cols if not c.detail] == [
        '1-NN', '20-NN', '200-NN w', 'Linear', 'R@1', 'R@4', 'Params (M)', 'GMACs', 'GMACs @224', 'ms @b64',
        'img/s @b64']
    by = {c.field: c for c in cols}
    assert by['knn1_top5'].detail and by['params_m'].better == 'min' and by['throughput_b64'].better == 'max'
    assert by['retrieval_r1'].group == 'retrieval' and by['knn1_top1'].group == 'accuracy'


def test_numbered_columns_sort_numerically():
    cols = numbered_columns({'retrieval_r8', 'retrieval_r16', 'retrieval_r2'}, r'retrieval_r(\d+)', 'R@{}',
                            fmt='.1f', group='retrieval')
    assert [c.header for c in cols] == ['R@2', 'R@8', 'R@16'] and isinstance(cols[0], Column)


def test_raw_pixels_skip_network_only_evaluations():
    import numpy as np

    class Split:
        classes = [0, 1]

    calls = []

    def extract(backbone, dataset, batch_size, device, desc):
        calls.append(desc)
        rng = np.random.default_rng(len(calls))
        return rng.normal(size=(8, 4)).astype(np.float32), np.array([0, 1] * 4)

    suite = EvalSuite(dict(suites=['knn', 'flops', 'latency'], knn=dict(majority_ks=[1], weighted_k=None,
                                                                      temperature=0.07)))
    from benchmarks.evals import suite as suite_module
    real = suite_module.EvalContext
    try:
        suite_module.EvalContext = lambda **kw: real(**{**kw, 'extract': extract})
        metrics = suite.evaluate(None, 'raw pixels', Split(), Split(), 8, kind='floor')
    finally:
        suite_module.EvalContext = real
    assert set(metrics) == {'knn1_top1'} and len(calls) == 2   # no cost columns; train and val extracted once
