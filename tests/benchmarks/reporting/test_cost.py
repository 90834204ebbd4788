"""The teacher's cost next to every distilled row (benchmarks/reporting/cost.py), in the tables and the plot."""
import pytest

from benchmarks.reporting.cost import with_teacher_cost
from benchmarks.reporting.leaderboard import markdown_table, write_leaderboard
from benchmarks.reporting.plots import write_plots


def _rows(teacher_time=730.0, gpu_hours=None):
    teacher = dict(kind='teacher', method='teacher', student='resnet18 x0.5', params_m=2.8, gmacs=0.04,
                   images_seen=249600, train_time_s=teacher_time, teacher_gpu_hours=gpu_hours, linear_top1=45.0)
    scratch = dict(kind='method', method='moco_v2', method_name='moco_v2', teacher='none', student='resnet18 x0.125',
                   train_time_s=61.0, prepare_time_s=0.0, images_seen=49920, linear_top1=22.0, gmacs=0.003,
                   params_m=0.18)
    cc = dict(kind='method', method='cc', method_name='cc', teacher='moco_v2 resnet18 x0.5', student='resnet18 x0.125',
              train_time_s=26.0, prepare_time_s=4.0, images_seen=49920, teacher_forward_images=0,
              teacher_cached_images=0, linear_top1=27.0, gmacs=0.003, params_m=0.18)
    comp = dict(cc, method='compress_2q', method_name='compress_2q', train_time_s=63.0, prepare_time_s=0.0,
                teacher_forward_images=49920, teacher_cached_images=0, linear_top1=33.0)
    seed = dict(comp, method='seed', method_name='seed', teacher_forward_images=0, teacher_cached_images=49920)
    slim = [dict(kind='method', method=f'slimclr w{w}', method_name='slimclr', teacher='none', shared_training=True,
                 student=f'resnet18 x{w / 2}', train_time_s=225.0, prepare_time_s=0.0, images_seen=49920,
                 linear_top1=17.0 + w, gmacs=0.04 * w, params_m=2.8 * w) for w in (1, 0.5)]
    return [teacher, scratch, cc, comp, seed, *slim]


def test_distilled_rows_pay_for_their_teacher_and_shared_trainings_split_their_own():
    out = {r['method']: r for r in with_teacher_cost(_rows())}
    assert out['moco_v2']['pretrain_s'] == 61.0 and 'teacher_train_s' not in out['moco_v2']
    assert out['cc']['pretrain_s'] == 26.0 + 4.0 + 730.0 and out['cc']['teacher_forwards'] == 0
    assert out['compress_2q']['teacher_forwards'] == 49920 and out['compress_2q']['pretrain_s'] == 793.0
    # a method that read every teacher output back from the shared store still needed those forwards
    assert out['seed']['teacher_forwards'] == 49920
    assert out['compress_2q']['teacher_params_m'] == 2.8 and out['compress_2q']['teacher_gmacs'] == 0.04
    assert out['compress_2q']['teacher_train_images'] == 249600
    assert out['slimclr w1']['pretrain_s'] == pytest.approx(112.5)          # one training, two students
    assert 'pretrain_s' not in out['teacher']


def test_a_public_teacher_shows_its_published_hours_and_no_total():
    out = {r['method']: r for r in with_teacher_cost(_rows(teacher_time=None, gpu_hours=339.2))}
    assert out['compress_2q']['teacher_gpu_hours'] == 339.2
    assert 'pretrain_s' not in out['compress_2q'] and 'teacher_train_s' not in out['compress_2q']
    assert out['moco_v2']['pretrain_s'] == 61.0


def test_tables_show_the_teacher_cost_and_the_plot_is_written(tmp_path):
    md = markdown_table(_rows())
    header = next(line for line in md.splitlines() if line.startswith('| Method'))
    assert 'T fwd' in header and 'T train (s)' in header and 'Total (s)' in header and 'T GPU-h' not in header
    row = next(line for line in md.splitlines() if line.startswith('| compress_2q'))
    assert '793' in row and '730' in row and '49,920' in row
    write_leaderboard(_rows(), tmp_path)
    csv_head = (tmp_path / 'leaderboard.csv').read_text().splitlines()[0]
    assert 'teacher_params_m' in csv_head and 'pretrain_s' in csv_head
    paths = write_plots(_rows(), tmp_path / 'plots')
    assert any(p.name == 'accuracy_vs_pretrain_cost.png' for p in paths)


def test_a_row_trained_on_labels_is_a_reference_in_the_plots_not_on_the_front(tmp_path):
    """The supervised row would dominate every front: it is drawn as a reference (grey diamond) instead."""
    rows = _rows() + [dict(kind='method', method='supervised', method_name='supervised', teacher='none',
                           uses_labels=True, student='resnet18 x0.125', train_time_s=25.0, prepare_time_s=0.0,
                           images_seen=49920, linear_top1=60.0, gmacs=0.003, params_m=0.18)]
    write_plots(rows, tmp_path)
    svg = (tmp_path / 'accuracy_vs_pretrain_cost.svg').read_text()
    assert 'trained on labels (reference)' in svg and 'supervised' in svg
