"""Rows over seeds -> aggregated rows and table cells (benchmarks/reporting/aggregate.py, table.py)."""
import math

import pytest
from scipy import stats as sps

from benchmarks.reporting.aggregate import add_paired, aggregate, default_reference
from benchmarks.reporting.leaderboard import markdown_table
from benchmarks.reporting.table import BETTER_MARK, WORSE_MARK, build_table


def _row(method, seed, knn, kind='method', teacher='none', **extra):
    return dict(kind=kind, method=method, method_name=method, student='resnet18 x0.125', teacher=teacher,
                seed=seed, knn20_top1=knn, train_time_s=10.0 + seed, **extra)


MOCO = [17.5, 22.8, 21.4]
COMP = [27.0, 31.5, 29.9]


def _rows():
    rows = [_row('moco_v2', s, v) for s, v in enumerate(MOCO)]
    rows += [_row('compress_2q', s, v, teacher='t') for s, v in enumerate(COMP)]
    return rows


def test_mean_interval_std_and_per_seed_values():
    agg = aggregate(_rows())
    assert [r['method'] for r in agg] == ['moco_v2', 'compress_2q']
    moco = agg[0]
    assert moco['n_seeds'] == 3 and moco['seeds'] == [0, 1, 2]
    assert moco['knn20_top1'] == pytest.approx(sum(MOCO) / 3)
    lo, hi = sps.t.interval(0.95, 2, loc=sum(MOCO) / 3, scale=sps.sem(MOCO))
    assert moco['knn20_top1_ci95'] == pytest.approx((hi - lo) / 2)
    assert moco['knn20_top1_std'] == pytest.approx(sps.tstd(MOCO))
    assert moco['knn20_top1_seeds'] == {0: 17.5, 1: 22.8, 2: 21.4}
    assert moco['train_time_s'] == pytest.approx(11.0)      # costs are averaged too
    assert 'seed_ci95' not in moco                          # the seed itself is not a measurement
    same = aggregate([dict(_row('moco_v2', s, 20.0 + s), images_seen=49920) for s in range(3)])[0]
    assert same['images_seen'] == 49920 and isinstance(same['images_seen'], int)   # equal on every seed: as is
    assert 'images_seen_ci95' not in same and same['images_seen_std'] == 0.0


def test_one_seed_is_kept_as_is_and_failed_rows_stay_single():
    one = aggregate([_row('moco_v2', 0, 20.0)])[0]
    assert one['knn20_top1'] == 20.0 and one['n_seeds'] == 1 and 'knn20_top1_ci95' not in one
    rows = _rows() + [dict(_row('crd', 0, None, teacher='t'), status='failed', error='boom')]
    agg = aggregate(rows)
    assert [r['method'] for r in agg] == ['moco_v2', 'compress_2q', 'crd'] and agg[2]['status'] == 'failed'


def test_paired_comparison_with_the_from_scratch_reference():
    agg = aggregate(_rows())
    assert default_reference(agg, agg[1]) == 'moco_v2'
    out = add_paired(agg, ['knn20_top1'])
    comp = out[1]
    d = [c - m for c, m in zip(COMP, MOCO)]
    assert comp['reference'] == 'moco_v2'
    assert comp['knn20_top1_vs_ref'] == pytest.approx(sum(d) / 3)
    assert comp['knn20_top1_vs_ref_p'] == pytest.approx(sps.ttest_rel(COMP, MOCO).pvalue)
    assert 'reference' not in out[0]                         # the reference is not compared with itself
    # an explicit reference
    out = add_paired(agg, ['knn20_top1'], compare_to='compress_2q')
    assert out[0]['reference'] == 'compress_2q' and out[0]['knn20_top1_vs_ref'] == pytest.approx(-sum(d) / 3)


def test_two_seeds_give_an_interval_but_no_p_value():
    rows = [r for r in _rows() if r['seed'] < 2]
    comp = add_paired(aggregate(rows), ['knn20_top1'])[1]
    assert comp['knn20_top1_vs_ref_p'] is None and comp['knn20_top1_vs_ref_n'] == 2
    cell = build_table(rows).rows[1].cells
    assert not any(BETTER_MARK in c.text or WORSE_MARK in c.text for c in cell)


def _cells(table, method, header):
    col = [c.header for c in table.columns].index(header)
    return next(r.cells[col] for r in table.rows if r.label.startswith(method))


def test_table_cells_show_mean_pm_half_width_and_n():
    table = build_table(_rows())
    assert [c.header for c in table.columns][:3] == ['Method', 'Network', 'n']
    moco = _cells(table, 'moco_v2', '20-NN') if '20-NN' in [c.header for c in table.columns] else None
    agg = aggregate(_rows())[0]
    assert moco is not None and moco.text == f"{agg['knn20_top1']:.1f} ± {agg['knn20_top1_ci95']:.1f}"
    assert _cells(table, 'moco_v2', 'n').text == '3'


def test_significant_difference_is_marked():
    # compress_2q is better on every seed by 9.5 ± 0.6: significant at n = 3
    rows = [_row('moco_v2', s, v) for s, v in enumerate(MOCO)]
    rows += [_row('compress_2q', s, v + 9.5 + 0.3 * s, teacher='t') for s, v in enumerate(MOCO)]
    cell = _cells(build_table(rows), 'compress_2q', '20-NN')
    assert cell.text.endswith(BETTER_MARK) and cell.best
    worse = [_row('moco_v2', s, v) for s, v in enumerate(MOCO)]
    worse += [_row('reg', s, v - 5.0 - 0.2 * s, teacher='t') for s, v in enumerate(MOCO)]
    assert _cells(build_table(worse), 'reg', '20-NN').text.endswith(WORSE_MARK)
    assert 'significantly better / worse' in markdown_table(rows)


def test_best_marks_ties_when_intervals_overlap():
    rows = [_row('a', s, v) for s, v in enumerate([30.0, 31.0, 29.0])]        # 30 ± 2.5
    rows += [_row('b', s, v, teacher='t') for s, v in enumerate([29.5, 29.7, 29.6])]   # 29.6 ± 0.25: tie
    rows += [_row('c', s, v, teacher='t') for s, v in enumerate([20.0, 20.2, 20.1])]   # clearly worse
    table = build_table(rows)
    assert _cells(table, 'a', '20-NN').best and _cells(table, 'b', '20-NN').best
    assert not _cells(table, 'c', '20-NN').best


def test_references_are_never_best_or_compared():
    rows = _rows() + [_row('random init', s, 10.0 + s, kind='random_init') for s in range(3)]
    rows += [_row('teacher', 0, 90.0, kind='teacher'), _row('raw pixels', 0, 25.0, kind='floor')]
    table = build_table(rows)
    assert [r.kind for r in table.rows] == ['teacher', 'method', 'method', 'random_init', 'floor']
    init = _cells(table, 'random init', '20-NN')
    assert not init.best and '±' in init.text and BETTER_MARK not in init.text


def test_detection_trials_of_one_seed_show_their_interval():
    row = _row('moco_v2', 0, 20.0, det_ap=10.0, det_ap_std=1.0, det_ap50=20.0, det_ap50_std=2.0, det_trials=3,
               det_status='ok')
    agg = aggregate([row])[0]
    assert agg['det_ap_ci95'] == pytest.approx(sps.t.ppf(0.975, 2) * 1.0 / math.sqrt(3))
    assert '±' in _cells(build_table([row]), 'moco_v2', 'AP').text


def test_a_row_trained_on_labels_is_marked_never_best_never_the_reference_and_not_compared():
    sup = [_row('supervised', s, 60.0 + s, uses_labels=True) for s in range(3)]
    rows = sup + _rows()                        # listed first: it must still not become the reference
    agg = aggregate(rows)
    assert default_reference(agg, agg[2]) == 'moco_v2'
    out = add_paired(agg, ['knn20_top1'])
    assert 'reference' not in out[0] and out[2]['reference'] == 'moco_v2'
    table = build_table(rows)
    cell = _cells(table, 'supervised ‡', '20-NN')
    assert not cell.best and BETTER_MARK not in cell.text and WORSE_MARK not in cell.text
    assert _cells(table, 'compress_2q', '20-NN').best
    assert any(n.startswith('‡ trained with the labels') for n in table.notes)
    assert '‡' in markdown_table(rows)


def test_a_count_that_differs_over_seeds_is_shown_as_a_rounded_count():
    # cc's teacher forwards: 5,000 when a seed computes the teacher features, 0 when it reads them back
    rows = [_row('cc', s, v, teacher='t', images_seen=49920, teacher_forward_images=f)
            for s, (v, f) in enumerate(zip(COMP, [5000, 0, 0]))]
    cell = _cells(build_table(aggregate(rows)), 'cc', 'Images seen')
    assert cell.text == '49,920'
    from benchmarks.reporting.table import _fmt
    assert _fmt(3333.3333333333335, ',d') == '3,333' and _fmt(7171.08788291577, ',d') == '7,171'
    assert _fmt(49920, ',d') == '49,920' and _fmt(float('nan'), ',d') == '–'
