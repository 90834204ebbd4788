"""Leaderboard reports: tables in five formats, plots, run merging and the tools/report.py CLI.

Rows are fabricated (teacher, methods, a failed method, SlimCLR widths from one training, detection
columns with one failed detection run, raw-pixel floor), so these tests need no training.
"""
import copy
import itertools
import json
import random
import re
import struct
from html.parser import HTMLParser

import pytest

from benchmarks.reporting.leaderboard import markdown_table, write_leaderboard
from benchmarks.reporting.table import build_table
from benchmarks.reporting.plots import DPI, FIGSIZE, LABEL_PT, accuracy_metric, pareto_front, place_labels, write_plots
from benchmarks.cli.report import main
from benchmarks.reporting.report import load_runs, write_reports
from benchmarks.reporting.row import SCHEMA_VERSION
from benchmarks.reporting.formats import html_document, latex_table, tex_escape

CAPTION = '**tiny** suite — kNN top-1 %, linear probe & R@K; τ=0.07, epochs ×1. Budget: 2 epochs, batch_size 8.'
CURVE = [[10, 8.0], [20, 5.0], [30, 3.0]]


def _rows():
    """Teacher, 5 method rows (one failed, two SlimCLR widths of one training), floor.

    Best method values: Linear 55.0 (slimclr w1; the teacher's 70 is a reference), ms @b1 0.9
    (slimclr w0.5; the teacher's 0.5 is a reference), Params 0.7 tied by three methods, AP50 25.0
    (slimclr w1; compress_2q's detection failed).
    """
    det = dict(det_status='ok', det_ap50_std=0.0, det_ap_std=0.0, det_ap75_std=0.0)
    common = dict(status='ok', image_size=32, seed=0, images_seen=5000, num_views=2, epoch_times_s=[1.0, 1.1])
    return [
        dict(kind='teacher', method='teacher', student='resnet18 x1', status='ok', image_size=32,
             knn20_top1=60.0, knn200w_top1=61.0, linear_top1=70.0, retrieval_r1=50.0, ca_top1=30.0, params_m=11.2,
             gmacs=0.56, latency_b1_ms=0.5, throughput_b64=5000.0, images_seen=100000, train_time_s=500.0),
        dict(kind='method', method='moco_v2', method_type='moco_v2', student='resnet18 x0.25', **common,
             knn20_top1=35.0, knn200w_top1=36.0, linear_top1=40.0, retrieval_r1=30.0, ca_top1=20.0, params_m=0.7,
             gmacs=0.04, latency_b1_ms=1.2, throughput_b64=3000.0, det_ap50=20.0, det_ap=10.0, det_ap75=8.0, **det,
             train_time_s=50.0, prepare_time_s=0.1, loss_curve=[[10, 9.0], [20, 7.0], [30, 6.5]],
             shared_training=False, hparams={'queue_size': 64}, budget={'epochs': 2}),
        dict(kind='method', method='compress_2q', method_type='compress', student='resnet18 x0.25', **common,
             knn20_top1=45.0, knn200w_top1=46.0, linear_top1=52.3, retrieval_r1=41.0, ca_top1=25.0, params_m=0.7,
             gmacs=0.04, latency_b1_ms=1.0, throughput_b64=3100.0, det_status='failed',
             det_error='no annotations under data/voc', train_time_s=60.0, prepare_time_s=4.0,
             teacher_forward_images=5000, loss_curve=CURVE, shared_training=False),
        dict(kind='method', method='crd', method_type='crd', student='resnet18 x0.25', status='failed',
             error='CUDA out of memory at iteration 3; lower budget.batch_size'),
        dict(kind='method', method='slimclr w1', method_type='slimclr', student='resnet18 x0.5', **common,
             knn20_top1=44.0, knn200w_top1=45.0, linear_top1=55.0, retrieval_r1=35.0, ca_top1=22.0, params_m=2.8,
             gmacs=0.16, latency_b1_ms=2.0, throughput_b64=1500.0, det_ap50=25.0, det_ap=12.0, det_ap75=9.0, **det,
             train_time_s=90.0, prepare_time_s=0.0, loss_curve=[[10, 400.0], [20, 40.0], [30, 2.0]],
             shared_training=True),
        dict(kind='method', method='slimclr w0.5', method_type='slimclr', student='resnet18 x0.25', **common,
             knn20_top1=28.0, knn200w_top1=29.0, linear_top1=30.0, retrieval_r1=25.0, ca_top1=15.0, params_m=0.7,
             gmacs=0.04, latency_b1_ms=0.9, throughput_b64=3300.0, det_ap50=12.0, det_ap=5.0, det_ap75=2.0, **det,
             train_time_s=90.0, prepare_time_s=0.0, loss_curve=[[10, 400.0], [20, 40.0], [30, 2.0]],
             shared_training=True),
        dict(kind='floor', method='raw pixels', student='–', status='ok', knn20_top1=22.0, knn200w_top1=21.0,
             linear_top1=20.0, retrieval_r1=24.0, ca_top1=12.0),
    ]


def _sparse_rows():
    """Rows of a run with few evaluations: no status, loss_curve, epoch_times_s, shared_training,
    prepare_time_s, detection or latency fields."""
    return [dict(kind='teacher', method='teacher', student='resnet18 x1', knn20_top1=50.0, params_m=11.2, gmacs=0.56),
            dict(kind='method', method='seed', student='resnet18 x0.25', knn20_top1=30.0, knn1_top1=25.0,
                 params_m=0.7, gmacs=0.04, images_seen=400, train_time_s=12.0),
            dict(kind='method', method='cc', student='resnet18 x0.5', knn20_top1=33.0, knn1_top1=27.0,
                 params_m=2.8, gmacs=0.16, images_seen=400, train_time_s=9.0),
            dict(kind='floor', method='raw pixels', student='–', knn20_top1=18.0, knn1_top1=15.0)]


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', head[16:24])


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp('report')
    paths = write_reports(_rows(), out, CAPTION)
    return out, paths


def test_every_table_and_plot_is_written(report):
    out, paths = report
    expected = {f'leaderboard.{e}' for e in ('md', 'csv', 'json', 'tex', 'html')}
    expected |= {f'plots/{n}.{e}' for n in ('accuracy_vs_gmacs', 'accuracy_vs_params', 'accuracy_vs_pretrain_cost',
                                           'training_curves', 'training_cost') for e in ('png', 'svg')}
    assert set(paths) == expected
    for name in expected:
        assert (out / name).stat().st_size > 500, name
        assert paths[name] == out / name
    assert json.loads((out / 'leaderboard.json').read_text())['caption'] == CAPTION
    # fixed figure size, no tight bbox: the PNG is exactly FIGSIZE x DPI
    width, height = round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI)
    for name in ('accuracy_vs_gmacs', 'accuracy_vs_params', 'accuracy_vs_pretrain_cost', 'training_curves'):
        assert _png_size(out / 'plots' / f'{name}.png') == (width, height), name
        svg = (out / 'plots' / f'{name}.svg').read_text()
        assert svg.lstrip().startswith('<?xml') and '<svg' in svg
    # cost chart: 4 trainings (teacher, moco_v2, compress_2q, one SlimCLR training) x 3 panels (the rows
    # carry num_views, so the training-compute panel is drawn)
    assert _png_size(out / 'plots' / 'training_cost.png') == (round((3.6 * 3 + 1.6) * DPI), round(2.6 * DPI))
    curves = (out / 'plots' / 'training_curves.svg').read_text()
    # losses span 2..400 (> 2 decades): log y; the two SlimCLR widths share one curve
    assert 'log scale' in curves and 'slimclr (2 students)' in curves and 'moco_v2' in curves
    svg = (out / 'plots' / 'training_cost.svg').read_text()
    assert 'Training compute' in svg and 'slimclr (2 students)' in svg and 'crd' not in svg


def test_latex_is_booktabs_with_escaped_text_and_bold_best(report):
    tex = (report[0] / 'leaderboard.tex').read_text()
    for rule in (r'\toprule', r'\midrule', r'\bottomrule', r'\cmidrule(lr){3-', r'\caption[Leaderboard]{'):
        assert rule in tex, rule
    assert r'\multicolumn{4}{c}{Accuracy (\%)}' in tex and r'\textbf{tiny} suite' in tex
    assert r'compress\_2q' in tex and r'batch\_size' in tex and r'top-1 \%' in tex and r'probe \& R@K' in tex
    assert r'$\tau$=0.07' in tex and r'$\times$1' in tex
    body = tex.split(r'\begin{tabular}{', 1)[1].split(r'\end{tabular}', 1)[0]
    spec = body.split('}', 1)[0]
    assert re.fullmatch(r'llr+', spec)      # text left, numbers right
    lines = [line for line in body.splitlines() if line.endswith(r'\\')]
    group_line, data = lines[0], lines[1:]
    spans = [int(n) for n in re.findall(r'\\multicolumn\{(\d+)\}', group_line)]
    assert group_line.startswith(' &  & ') and sum(spans) + 2 == len(spec)   # groups cover every number column
    assert len(data) == 1 + len(_rows())                                      # header row + one per row
    for line in data:  # every row has one cell per column: unescaped & count = columns - 1
        assert len(re.findall(r'(?<!\\)&', line)) == len(spec) - 1, line
    assert not re.search(r'[_%]', body.replace(r'\_', '').replace(r'\%', ''))   # all escaped
    row = next(line for line in data if line.startswith('slimclr w1'))
    assert r'\textbf{55.0}' in row
    assert r'\textbf{70.0}' not in tex    # the teacher is a reference, never bold
    assert r'crd \textit{(failed)}' in tex and 'CUDA out of memory' in tex
    assert tex_escape('a_b & 5% #1 {x} ~ ^ \\') == r'a\_b \& 5\% \#1 \{x\} \textasciitilde{} \textasciicircum{} ' \
                                                  r'\textbackslash{}'


class _Cells(HTMLParser):
    """Header texts and body rows of the leaderboard table: ``rows`` = ``[(tr attrs, [(cell attrs,
    text, bold)])]``."""

    def __init__(self):
        super().__init__()
        self.headers, self.rows, self.tags = [], [], []
        self._cell = None
        self._in_columns = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == 'tr':
            self._in_columns = attrs.get('class') == 'columns'
            if not self._in_columns and attrs.get('class') != 'groups':
                self.rows.append((attrs, []))
        elif tag in ('td', 'th'):
            self._cell = [attrs, '', False]
        elif tag == 'strong' and self._cell is not None:
            self._cell[2] = True

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self._cell is not None:
            if self._in_columns:
                self.headers.append(self._cell[1])
            elif self.rows and not self._in_columns and self._cell[0].get('colspan') is None:
                self.rows[-1][1].append(tuple(self._cell))
            self._cell = None


def test_html_is_self_contained_and_marks_the_best_cells(report):
    page = (report[0] / 'leaderboard.html').read_text()
    assert page.startswith('<!DOCTYPE html>') and '<style>' in page
    assert '<script' not in page and '<link' not in page and not re.search(r'(src|href)\s*=', page)
    assert 'http' not in page.lower()
    parsed = _Cells()
    parsed.feed(page)
    assert page.index('<caption>') < page.index('<thead>')
    assert '<strong>tiny</strong> suite' in page
    groups = re.findall(r'<th colspan="(\d+)" class="gs" scope="colgroup">([^<]+)</th>', page)
    assert [g for _, g in groups] == ['Accuracy (%)', 'Retrieval (%)', 'Detection AP (%)', 'Cost']
    assert sum(int(n) for n, _ in groups) + 2 == len(parsed.headers)
    rows = {cells[0][1].split('†')[0].replace('failed', '').strip(): (attrs, cells) for attrs, cells in parsed.rows}

    def bold(header):
        i = parsed.headers.index(header)
        return {name for name, (_, cells) in rows.items() if cells[i][2]}

    assert bold('Linear') == {'slimclr w1'}                       # higher is better; teacher 70 not ranked
    assert bold('ms @b1') == {'slimclr w0.5'}                     # lower is better; teacher 0.5 not ranked
    assert bold('Params (M)') == {'moco_v2', 'compress_2q', 'slimclr w0.5'}   # a tie: all bold
    assert bold('AP50') == {'slimclr w1'}
    assert bold('img/s @b64') == {'slimclr w0.5'}
    assert bold('Images seen') == set()                           # not a ranked column
    attrs, cells = rows['crd']
    assert attrs['class'] == 'failed' and 'CUDA out of memory' in attrs['title']
    assert 'class' not in rows['moco_v2'][0]
    det = rows['compress_2q'][1][parsed.headers.index('AP50')]
    assert det[1] == 'failed' and 'no annotations' in det[0]['title']
    assert 'crd failed: CUDA out of memory' in page              # the note under the table
    assert list(rows)[0] == 'teacher' and list(rows)[-1] == 'raw pixels'


def test_markdown_keeps_one_header_row_with_groups_above_and_bold_best():
    md = markdown_table(_rows(), CAPTION)
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('| Method'))
    assert lines[header + 1].startswith('|:--') and '--:|' in lines[header + 1]   # numbers right-aligned
    assert '**Accuracy (%)**' in lines[header - 2] and '**Cost**' in lines[header - 2]
    heads = [h.strip() for h in lines[header].strip('|').split('|')]
    assert heads[:7] == ['Method', 'Network', '20-NN', '200-NN w', 'Linear', 'CA', 'R@1']
    row = next(line for line in lines if line.startswith('| slimclr w1'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[heads.index('Linear')] == '**55.0**' and cells[heads.index('ms @b1')] == '2.00'
    assert '**70.0**' not in md and '(failed: CUDA out of memory' in md and '† several students' in md


def test_best_marks_compare_shown_values_and_need_a_choice():
    rows = [dict(kind='method', method='a', linear_top1=50.04, params_m=1.0),
            dict(kind='method', method='b', linear_top1=49.96, params_m=1.0),
            dict(kind='method', method='c', linear_top1=12.0, params_m=1.0)]
    table = build_table(rows)
    col = {c.header: i for i, c in enumerate(table.columns)}
    # 50.04 and 49.96 both print as 50.0: both bold; equal params everywhere: nothing to choose, none bold
    assert [r.cells[col['Linear']].best for r in table.rows] == [True, True, False]
    assert not any(r.cells[col['Params (M)']].best for r in table.rows)


def test_pareto_front_matches_brute_force():
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 12)
        costs = [rng.choice([0.5, 1.0, 2.0, 4.0, 8.0]) for _ in range(n)]  # few values: ties are common
        accs = [float(rng.randint(0, 6)) for _ in range(n)]
        brute = {i for i in range(n) if not any(
            costs[j] <= costs[i] and accs[j] >= accs[i] and (costs[j] < costs[i] or accs[j] > accs[i])
            for j in range(n))}
        front = pareto_front(costs, accs)
        assert set(front) == brute and len(front) == len(brute)
        assert [costs[i] for i in front] == sorted(costs[i] for i in front)
    assert pareto_front([0.04, 0.04, 0.16, 0.04], [40.0, 52.3, 55.0, 30.0]) == [1, 2]


def test_accuracy_metric_prefers_linear_then_the_largest_knn():
    assert accuracy_metric(_rows())[0] == 'linear_top1'
    assert accuracy_metric(_sparse_rows())[0] == 'knn20_top1'
    assert accuracy_metric([dict(knn200_top1=1.0, knn200w_top1=2.0, knn20_top1=3.0)])[0] == 'knn200w_top1'
    assert accuracy_metric([dict(kind='floor', params_m=1.0)]) is None


def test_older_rows_without_new_fields_still_report(tmp_path):
    paths = write_reports(_sparse_rows(), tmp_path, '')
    assert 'plots/accuracy_vs_gmacs.png' in paths and 'plots/training_cost.png' in paths
    assert 'plots/training_curves.png' not in paths          # no loss curves: no figure, no empty file
    assert not (tmp_path / 'plots' / 'training_curves.png').exists()
    # two panels (time, images seen): no num_views, so no training-compute panel
    assert _png_size(tmp_path / 'plots' / 'training_cost.png')[0] == round((3.6 * 2 + 1.6) * DPI)
    assert '**33.0**' in (tmp_path / 'leaderboard.md').read_text()   # cc's 20-NN is the best method value


def test_nothing_to_plot_writes_no_files(tmp_path):
    assert write_plots([dict(kind='floor', method='raw pixels', knn20_top1=10.0)], tmp_path / 'plots') == []
    assert not (tmp_path / 'plots').exists() or not any((tmp_path / 'plots').iterdir())


def _run_dir(path, rows, caption):
    path.mkdir(parents=True)
    rows = [dict(r, schema=SCHEMA_VERSION) for r in rows]  # as ResultRow.to_dict writes them
    (path / 'rows.json').write_text(json.dumps(rows))
    write_leaderboard(rows, path, caption)
    return path


def test_merging_two_runs_labels_rows_side_by_side(tmp_path):
    a = _run_dir(tmp_path / 'e2', _rows(), 'two epochs')
    slower = copy.deepcopy(_rows())
    for r in slower:
        if 'linear_top1' in r:
            r['linear_top1'] += 1.0
    b = _run_dir(tmp_path / 'e4', slower, 'four epochs')
    rows, caption = load_runs([a, b])
    methods = [r['method'] for r in rows]
    assert methods[:4] == ['teacher [e2]', 'teacher [e4]', 'moco_v2 [e2]', 'moco_v2 [e4]']
    assert methods[-2:] == ['raw pixels [e2]', 'raw pixels [e4]']
    assert {r['run'] for r in rows} == {'e2', 'e4'} and len(rows) == 2 * len(_rows())
    assert caption == '**Run e2**: two epochs\n\n**Run e4**: four epochs'
    out = tmp_path / 'merged'
    assert main([str(a), str(b), '--labels', '2ep,4ep', '--out', str(out)]) == 0
    md = (out / 'leaderboard.md').read_text()
    assert '| compress_2q [2ep]' in md and '| compress_2q [4ep]' in md and '**Run 4ep**: four epochs' in md
    assert md.index('compress_2q [2ep]') < md.index('compress_2q [4ep]') < md.index('crd [2ep]')
    assert '**56.0**' in md                                  # slimclr w1 [4ep] leads the merged Linear column
    assert (out / 'plots' / 'accuracy_vs_gmacs.png').is_file()
    assert not (a / 'plots').exists()                        # the inputs are left as they were
    # one run, no --out: the reports go into the run folder itself
    assert main([str(a)]) == 0 and (a / 'plots' / 'training_curves.png').is_file()


def test_cli_errors_are_one_clear_paragraph(tmp_path, capsys):
    good = _run_dir(tmp_path / 'good', _rows(), 'cap')
    (tmp_path / 'empty').mkdir()
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'rows.json').write_text('[{"kind": "method", "method": "moco_v2"')
    notlist = tmp_path / 'notlist'
    notlist.mkdir()
    (notlist / 'rows.json').write_text('{"rows": 1}')
    old = tmp_path / 'old'
    old.mkdir()
    (old / 'rows.json').write_text('[{"kind": "method", "method": "moco_v2", "knn20_top1": 20.0}]')
    cases = [([str(old)], 'a result row of schema None'),
             ([str(tmp_path / 'missing')], 'does not exist'),
             ([str(tmp_path / 'empty')], 'has no rows.json'),
             ([str(bad)], 'is not valid JSON'),
             ([str(notlist)], 'does not hold a JSON list'),
             ([str(good), str(good)], 'no --out'),
             ([str(good), str(good), '--out', str(tmp_path / 'o')], 'share a folder name'),
             ([str(good), '--labels', 'a,b', '--out', str(tmp_path / 'o')], 'one distinct, non-empty label')]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith('error: ') and message in err and err.count('\n') == 1, err
    assert not (tmp_path / 'o').exists()
    with pytest.raises(SystemExit) as exc:
        main(['--help'])
    assert exc.value.code == 0 and 'Pareto' in capsys.readouterr().out


def test_html_and_latex_render_without_optional_columns():
    rows = [dict(method='only', knn20_top1=10.0)]       # an evaluate-only row: no kind, cost or status
    assert re.search(r'<td class="num[^"]*">10.0</td>', html_document(rows)) and 'only' in latex_table(rows)
    for combo in itertools.product([None, 'x'], repeat=2):  # caption present or not, error text or not
        rows = [dict(kind='method', method='m', status='failed' if combo[1] else 'ok', error=combo[1])]
        assert '</html>' in html_document(rows, combo[0] or '') and r'\end{table*}' in latex_table(rows, combo[0] or '')


def test_labels_of_crowded_points_do_not_overlap():
    import matplotlib.pyplot as plt
    # ten students of one size, accuracies 0.3-2 points apart (as in a real default-suite run)
    ys = [36.3, 35.7, 34.3, 34.2, 33.5, 32.1, 27.5, 23.3, 20.4, 19.5]
    points = [(0.0034, y) for y in ys] + [(0.04, 18.7), (0.023, 17.9)]
    labels = [f'method_name_{i}' for i in range(len(points))]
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    ax.set_xscale('log')
    ax.scatter(*zip(*points))
    ax.set_xlim(0.001, 0.1)
    ax.set_ylim(15, 40)
    fig.canvas.draw()
    artists = place_labels(ax, points, labels)
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in artists]
    axes_box = ax.get_window_extent(renderer)
    for i, j in itertools.combinations(range(len(boxes)), 2):
        assert not boxes[i].overlaps(boxes[j]), (labels[i], labels[j])
    for a, box in zip(artists, boxes):
        assert a.get_fontsize() >= LABEL_PT >= 8
        assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
    plt.close(fig)


def _seed_rows():
    """moco_v2 and compress_2q over seeds 0, 1, 2 (compress_2q better on every seed), a teacher, a floor."""
    rows = [dict(kind='teacher', method='teacher', student='resnet18 x1', seed=0, knn20_top1=60.0, params_m=11.2,
                 gmacs=0.56, schema=SCHEMA_VERSION)]
    for s, (m, c) in enumerate([(20.0, 30.0), (22.0, 31.0), (21.0, 29.5)]):
        rows.append(dict(kind='method', method='moco_v2', student='resnet18 x0.25', teacher='none', seed=s,
                         knn20_top1=m, params_m=0.7, gmacs=0.04, images_seen=100, train_time_s=10.0,
                         schema=SCHEMA_VERSION))
        rows.append(dict(kind='method', method='compress_2q', student='resnet18 x0.25', teacher='teacher', seed=s,
                         knn20_top1=c, params_m=0.7, gmacs=0.04, images_seen=100, train_time_s=11.0,
                         schema=SCHEMA_VERSION))
    rows.append(dict(kind='floor', method='raw pixels', student='–', seed=0, knn20_top1=18.0, schema=SCHEMA_VERSION))
    return rows


def test_report_aggregates_seeds_and_compares_with_a_chosen_row(tmp_path, capsys):
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'rows.json').write_text(json.dumps(_seed_rows()))
    assert main([str(run), '--compare-to', 'compres_2q']) == 2
    assert "--compare-to 'compres_2q' names no method row" in capsys.readouterr().err
    assert main([str(run), '--compare-to', 'compress_2q']) == 0
    board = json.loads((run / 'leaderboard.json').read_text())['rows']
    moco = next(r for r in board if r['method'] == 'moco_v2')
    assert moco['n_seeds'] == 3 and moco['reference'] == 'compress_2q' and moco['knn20_top1_vs_ref'] < 0
    md = (run / 'leaderboard.md').read_text()
    assert '21.0 ± 2.5' in md and '▼' in md     # moco_v2: 21.0 ± 4.30·1/√3; significantly worse (p = 0.01)
    assert (run / 'plots' / 'accuracy_vs_gmacs.png').is_file()
    csv_head = (run / 'leaderboard.csv').read_text().splitlines()[0]
    for col in ('n_seeds', 'knn20_top1_ci95', 'knn20_top1_std', 'knn20_top1_seeds', 'knn20_top1_vs_ref_p'):
        assert col in csv_head.split(','), col
