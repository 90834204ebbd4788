"""benchmarks/stats.py against scipy.stats (a second, independent implementation) and by hand."""
import math

import pytest
from scipy import stats as sps

from benchmarks.stats import Interval, interval, overlaps_best, paired, t_quantile


def test_t_quantile_from_a_printed_table():
    # t_{0.975, 2} = 4.303, t_{0.975, 4} = 2.776 (any statistics table)
    assert t_quantile(3) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(5) == pytest.approx(2.7764, abs=1e-4)


@pytest.mark.parametrize('values', [[17.5, 22.8, 21.4], [1.0, 2.0, 3.0, 4.0, 5.0], [30.1, 30.4]])
def test_interval_matches_scipy(values):
    iv = interval(values)
    n = len(values)
    sem = sps.sem(values)
    low, high = sps.t.interval(0.95, n - 1, loc=sum(values) / n, scale=sem)
    assert iv.mean == pytest.approx((low + high) / 2)
    assert iv.half == pytest.approx((high - low) / 2)
    assert iv.std == pytest.approx(sps.tstd(values))
    assert iv.n == n


def test_interval_by_hand_and_edge_cases():
    iv = interval([1.0, 2.0, 3.0])        # mean 2, s 1, h = 4.3027 / sqrt(3)
    assert iv.half == pytest.approx(4.3027 / math.sqrt(3), abs=1e-4)
    one = interval([5.0])
    assert (one.mean, one.half, one.std, one.n) == (5.0, None, None, 1)
    assert interval([]) is None
    assert interval([None, float('nan')]) is None
    assert interval([2.0, None, 4.0]).n == 2   # missing values are left out, not counted as 0


def test_paired_matches_scipy_ttest_rel():
    a = {0: 30.1, 1: 31.5, 2: 29.8, 3: 32.0}
    b = {0: 28.0, 1: 30.9, 2: 29.9, 3: 29.5, 7: 50.0}    # seed 7 has no partner: left out
    p = paired(a, b)
    ref = sps.ttest_rel([a[s] for s in range(4)], [b[s] for s in range(4)])
    assert p.seeds == [0, 1, 2, 3] and p.n == 4
    assert p.p == pytest.approx(ref.pvalue)
    d = [a[s] - b[s] for s in range(4)]
    assert p.diff == pytest.approx(sum(d) / 4)
    lo, hi = sps.t.interval(0.95, 3, loc=sum(d) / 4, scale=sps.sem(d))
    assert p.half == pytest.approx((hi - lo) / 2)


def test_paired_with_too_few_seeds_has_no_p_value():
    p = paired({0: 1.0, 1: 2.0}, {0: 0.5, 1: 1.0})
    assert p.n == 2 and p.p is None and not p.significant
    assert paired({0: 1.0}, {1: 1.0}) is None


def test_paired_constant_difference():
    assert paired({0: 2.0, 1: 3.0, 2: 4.0}, {0: 1.0, 1: 2.0, 2: 3.0}).p == 0.0
    assert paired({0: 2.0, 1: 3.0, 2: 4.0}, {0: 2.0, 1: 3.0, 2: 4.0}).p == 1.0


def _iv(mean, half):
    return Interval(mean, half, None, 3 if half is not None else 1, [])


def test_best_marks_ties_by_overlapping_intervals():
    c = {'a': _iv(30.0, 1.0), 'b': _iv(29.5, 0.2), 'c': _iv(27.0, 1.5), 'd': _iv(25.0, 0.5)}
    # a is best: [29, 31]; b [29.3, 29.7] overlaps; c [25.5, 28.5] does not; d does not
    assert overlaps_best(c, 'max') == {'a', 'b'}
    # lower is better: d [24.5, 25.5] is best, c [25.5, 28.5] touches it
    assert overlaps_best(c, 'min') == {'d', 'c'}


def test_best_without_intervals_only_equal_means_tie():
    c = {'a': _iv(30.0, None), 'b': _iv(29.9, None), 'c': _iv(30.0, None)}
    assert overlaps_best(c, 'max') == {'a', 'c'}
    assert overlaps_best({}, 'max') == set()
