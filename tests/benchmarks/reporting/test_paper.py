"""Paper-reproduction suites (configs/suites/paper_*.py) and the "ours vs paper" table.

Every paper suite resolves and names registered methods and known backbones; its budget, method and
evaluation settings equal the paper's (docs/methods.md); every metric field of
``paper.results`` is one the suite's own evaluations produce (found by running them on tiny features,
not from a copied list); every published row label is a row the run will write. `paper_rows` /
`paper_table` are checked on fabricated rows: alignment, differences, '–' for what the run lacks, and
no published number ever in the "ours" column.
"""
import math
import re

import numpy as np
import pytest

from benchmarks.plan import validate_components
from benchmarks.config import CONFIG_DIR, resolve
from benchmarks.evals.suite import EvalSuite
from benchmarks.reporting.paper import MISSING, PAPER_ONLY, paper_rows, paper_table
from methods import get_method, list_methods
from methods.slimclr import width_label

PAPER_SUITES = sorted(p.stem for p in (CONFIG_DIR / 'suites').glob('paper_*.py'))
COMPRESS = ['paper_compress_alexnet', 'paper_compress_mobilenet_v2', 'paper_compress_resnet18']


@pytest.fixture(scope='module')
def cfgs():
    return {name: resolve(name) for name in PAPER_SUITES}


def test_the_paper_suites_exist():
    assert set(COMPRESS + ['paper_seed_resnet18', 'paper_slimclr_mocov2_r50', 'paper_slimclr_table_a']) <= set(PAPER_SUITES)


@pytest.mark.parametrize('name', PAPER_SUITES)
def test_resolves_with_registered_methods_and_backbones(cfgs, name):
    cfg = cfgs[name]
    validate_components(cfg)  # raises ConfigError on an unknown method type or backbone
    assert cfg.methods and all(cfg.method_cfgs[m]['type'] in list_methods() for m in cfg.methods)
    assert cfg.data.type == 'imagenet' and cfg.data.root is None and cfg.data.image_size == 224
    assert 'ImageNet' in cfg.data.description
    assert cfg.teacher.checkpoint is None and {'arch', 'train', 'spec', 'required', 'description'} <= set(cfg.teacher)
    paper = cfg.paper
    assert paper.source and paper.title and paper.protocol and paper.gpu_hours
    assert paper.results


@pytest.mark.parametrize('name', COMPRESS)
def test_compress_settings_are_the_official_code(cfgs, name):
    cfg = cfgs[name]
    b = cfg.budget
    assert (b.epochs, b.batch_size) == (130, 256)
    assert b.optimizer.to_dict() == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    assert b.schedule.type == 'step' and list(b.schedule.milestones) == [90, 120] and b.schedule.gamma == 0.2
    assert b.schedule.warmup_epochs == 0 and b.amp is None and cfg.augmentation == 'compress'
    assert cfg.methods == ['cc', 'crd', 'reg', 'reg_bn', 'compress_2q', 'compress_1q']
    two, one = cfg.method_cfgs.compress_2q, cfg.method_cfgs.compress_1q
    assert (two.bank_size, two.temperature, two.momentum, two.student_bank) == (128000, 0.04, 0.999, 'ema')
    assert (one.bank_size, one.temperature, one.student_bank, one.student_head) == (128000, 0.04, 'none', 'linear')
    assert cfg.teacher.arch.arch == 'resnet50' and cfg.teacher.spec == 'moco_v2' and cfg.teacher.required
    assert '800' in cfg.teacher.description
    ev = cfg.evals
    assert ev.linear.protocol == 'compress' and ev.linear.mode == 'augmented' and ev.linear.epochs_scale == 1.0
    assert 1 in ev.knn.majority_ks and ev.ca.num_clusters == 1000 and ev.ca.niter == 20
    assert {'knn', 'linear', 'ca'} <= set(ev.suites) and not ev.raw_pixel_floor
    arch = {'paper_compress_alexnet': 'alexnet', 'paper_compress_mobilenet_v2': 'mobilenet_v2',
            'paper_compress_resnet18': 'resnet18'}[name]
    assert cfg.student.to_dict() == dict(arch=arch, width=1.0, small_input=False)


def test_seed_settings_are_the_official_code(cfgs):
    cfg = cfgs['paper_seed_resnet18']
    b = cfg.budget
    assert (b.epochs, b.batch_size, b.amp) == (200, 256, 'fp16')
    assert b.optimizer.to_dict() == dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)
    assert b.schedule.type == 'cosine' and b.schedule.warmup_epochs == 0 and cfg.augmentation == 'mocov2'
    s = cfg.method_cfgs.seed
    assert (s.queue_size, s.student_temperature, s.teacher_temperature, s.teacher_feature) == (65536, 0.2, 1e-4, 'head')
    assert cfg.evals.linear.protocol == 'moco' and cfg.evals.linear.mode == 'augmented'
    assert cfg.teacher.arch.arch == 'resnet50' and '200' in cfg.teacher.description and cfg.teacher.required
    assert cfg.student.arch == 'resnet18' and cfg.student.width == 1.0


def test_slimclr_settings_are_the_official_script(cfgs):
    cfg = cfgs['paper_slimclr_mocov2_r50']
    b = cfg.budget
    assert (b.epochs, b.batch_size, b.amp) == (200, 1024, 'fp16')
    assert b.optimizer.to_dict() == dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4)
    assert b.schedule.type == 'cosine' and b.schedule.warmup_epochs == 10   # 5 % of 200 epochs
    s = cfg.method_cfgs.slimclr
    assert list(s.widths) == [1.0, 0.75, 0.5, 0.25] and s.slow_start == 0.5 and s.aux_loss_weight == 0.5
    assert (s.queue_size, s.momentum, s.temperature, s.student_temperature) == (65536, 0.999, 0.2, 5.0)
    # the suite's student is the smallest width of a full-width ResNet-50
    assert cfg.student.arch == 'resnet50' and cfg.student.width / min(s.widths) == s.full_width == 1.0
    assert not get_method('slimclr').needs_teacher and not cfg.teacher.required


def test_slimclr_table_a_settings_are_the_official_codes(cfgs):
    cfg = cfgs['paper_slimclr_table_a']
    b = cfg.budget
    assert (b.epochs, b.batch_size) == (200, 256) and cfg.augmentation == 'mocov2'
    assert b.optimizer.to_dict() == dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)
    assert cfg.methods == ['seed', 'disco', 'bingo', 'moco_v2_small'] and cfg.student.arch == 'resnet18'
    t = cfg.teacher
    assert t.required and t.spec == 'swav' and (t.arch.arch, t.arch.width) == ('resnet50', 2.0)
    bingo, disco = cfg.method_cfgs.bingo, cfg.method_cfgs.disco
    assert (bingo.queue_size, bingo.bag_size, bingo.temperature, bingo.cutmix) == (65536, 5, 0.2, True)
    assert bingo.warmup_fraction == 11 / 200 and (disco.mlp_hidden, disco.distill_weight) == (2048, 32.0)
    results = cfg.paper.results
    # the letter's rows: both teachers' distillation blocks, Shi et al. and the SlimCLR widths, Table B hours
    assert results['bingo'].linear_top1 == 65.5 and results['bingo from R-152 (paper only)'].linear_top1 == 65.9
    assert results['slimclr-mocov3 R-50 x0.25, 300 ep (paper only)'].linear_top1 == 62.4
    assert '33.4' in cfg.paper.gpu_hours.slimclr and '36.0' in cfg.paper.gpu_hours.teacher


def _run_labels(cfg) -> set:
    """The row labels a run of ``cfg`` writes (tools/bench.py: teacher row, one row per method, one per
    SlimCLR width)."""
    labels = set()
    for name in cfg.methods:
        mcfg = cfg.method_cfgs[name]
        if mcfg['type'] == 'slimclr':
            labels |= {f'{name} {width_label(float(w))}' for w in mcfg['widths']}
        else:
            labels.add(name)
        if get_method(mcfg['type']).needs_teacher:
            labels.add('teacher')
    return labels


@pytest.mark.parametrize('name', PAPER_SUITES)
def test_every_published_label_is_a_row_of_the_run(cfgs, name):
    cfg = cfgs[name]
    runnable = _run_labels(cfg)
    for label in cfg.paper.results:
        assert label.endswith(PAPER_ONLY) or label in runnable, (name, label, sorted(runnable))
    # every non-teacher method of the suite has a published number to be compared with
    published = {label.split(' ')[0] for label in cfg.paper.results}
    assert set(cfg.methods) <= published


def _produced_fields(evals: dict) -> set:
    """Metric keys the suite's feature evaluations write, by running them on tiny Gaussian-blob features."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 4
    ty, vy = np.repeat(np.arange(5), 50), np.repeat(np.arange(5), 10)   # >= 200 (weighted k)
    tf = (centres[ty] + rng.normal(size=(len(ty), 16))).astype(np.float32)
    vf = (centres[vy] + rng.normal(size=(len(vy), 16))).astype(np.float32)
    ev = {k: (dict(v) if isinstance(v, dict) else v) for k, v in evals.items()}
    # tiny-data adjustments that keep the key set: the augmented linear path returns the cached path's
    # keys (evals/linear.py) but needs images; 1000 clusters need >= 1000 samples; fewer probe epochs
    ev['linear'].update(mode='cached', epochs_scale=0.05)
    ev['ca'].update(num_clusters=None, nredo=1)
    return set(EvalSuite(ev).evaluate_features(tf, ty, vf, vy, num_classes=5))


def test_published_metrics_are_fields_our_evaluations_produce(cfgs):
    produced = {}
    for name in PAPER_SUITES:
        cfg = cfgs[name]
        key = repr(cfg.evals.to_dict())
        if key not in produced:
            produced[key] = _produced_fields(cfg.evals.to_dict())
        fields = {f for metrics in cfg.paper.results.values() for f in metrics}
        assert fields <= produced[key], (name, fields - produced[key])
    every = set().union(*produced.values())
    assert {'knn1_top1', 'linear_top1', 'linear_top5', 'ca_top1'} <= every


# ---------------------------------------------------------------- paper_rows / paper_table

PAPER = dict(
    title='Fake paper', source='Fake paper, Table 0', protocol='fake linear protocol',
    gpu_hours=dict(teacher='53 h on 8 V100', student='not reported'),
    results={
        'teacher': dict(linear_top1=70.8, knn1_top1=57.3, ca_top1=34.2),
        'supervised (paper only)': dict(linear_top1=69.8, knn1_top1=63.0, ca_top1=44.9),
        'cc': dict(linear_top1=61.1, knn1_top1=51.1, ca_top1=25.2),
        'crd': dict(linear_top1=58.4, knn1_top1=43.7, ca_top1=17.4),
        'compress_2q': dict(linear_top1=61.7, knn1_top1=53.4),
    },
    unverified=['crd', 'compress_2q/knn1_top1'],
)
# ours never coincide with a published number, so any published number in an "ours" cell is a leak
ROWS = [
    dict(kind='teacher', method='teacher', status='ok', linear_top1=71.25, knn1_top1=56.0),      # no ca_top1
    dict(kind='method', method='compress_2q', status='ok', linear_top1=60.0, knn1_top1=float('nan'),
         ca_top1=30.04),
    dict(kind='method', method='crd', status='failed', error='CUDA out of memory', linear_top1=1.5),
    dict(kind='method', method='moco_v2', status='ok', linear_top1=50.5, knn1_top1=40.25, ca_top1=20.0),
    dict(kind='floor', method='raw pixels', status='ok', linear_top1=5.0, knn1_top1=4.0, ca_top1=3.0),
]


def _records():
    return {(r['method'], r['metric']): r for r in paper_rows(ROWS, PAPER)}


def test_paper_rows_align_ours_with_published():
    rec = _records()
    r = rec['compress_2q', 'linear_top1']
    assert (r['ours'], r['paper']) == (60.0, 61.7) and math.isclose(r['diff'], -1.7)
    r = rec['teacher', 'linear_top1']
    assert (r['ours'], r['paper']) == (71.25, 70.8) and math.isclose(r['diff'], 0.45)
    assert rec['teacher', 'ca_top1']['ours'] is None and rec['teacher', 'ca_top1']['diff'] is None   # not evaluated
    assert rec['compress_2q', 'knn1_top1']['ours'] is None                                            # NaN
    # a metric the run has but the paper does not publish: ours shown, no paper number, no difference
    r = rec['compress_2q', 'ca_top1']
    assert (r['ours'], r['paper'], r['diff']) == (30.04, None, None)
    # failed row: its stray value is not reported; method not run: nothing; paper-only: never matched
    assert rec['crd', 'linear_top1']['ours'] is None and rec['crd', 'linear_top1']['note'].startswith('failed')
    assert all(rec['cc', f]['ours'] is None and not rec['cc', f]['in_run'] for f in ('linear_top1', 'ca_top1'))
    assert all(rec['supervised (paper only)', f]['ours'] is None for f in ('linear_top1', 'knn1_top1', 'ca_top1'))
    # a run row the paper lacks is listed with no published numbers; the floor row is not listed
    assert rec['moco_v2', 'linear_top1']['ours'] == 50.5 and rec['moco_v2', 'linear_top1']['paper'] is None
    assert not any(m == 'raw pixels' for m, _ in rec)
    # unverified: a whole label or one label/metric
    assert rec['crd', 'ca_top1']['unverified'] and rec['compress_2q', 'knn1_top1']['unverified']
    assert not rec['compress_2q', 'linear_top1']['unverified'] and not rec['teacher', 'linear_top1']['unverified']
    assert [m for m, f in rec if f == 'linear_top1'] == ['teacher', 'supervised (paper only)', 'cc', 'crd',
                                                        'compress_2q', 'moco_v2']


def _table_cells(md):
    lines = [ln for ln in md.splitlines() if ln.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    body = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip('|').split('|')]
        body[cells[0]] = dict(zip(header, cells))
    return header, body


def test_paper_table_shows_ours_paper_difference_and_dashes():
    md = paper_table(ROWS, PAPER)
    header, body = _table_cells(md)
    assert header[:4] == ['Method', '1-NN ours', '1-NN paper', '1-NN Δ'] and header[4] == 'Linear ours'
    assert 'CA paper' in header and header[-1] == 'Note'
    assert (body['compress_2q']['Linear ours'], body['compress_2q']['Linear paper'],
            body['compress_2q']['Linear Δ']) == ('60.0', '61.7', '-1.7')
    assert (body['teacher']['Linear ours'], body['teacher']['Linear Δ']) == ('71.2', '+0.5')
    assert body['teacher']['CA ours'] == MISSING and body['teacher']['CA paper'] == '34.2'
    assert body['teacher']['CA Δ'] == MISSING
    assert body['compress_2q']['1-NN paper'] == '53.4†' and body['crd']['CA paper'] == '17.4†'
    for label in ('supervised (paper only)', 'cc', 'crd'):
        assert all(body[label][f'{h} ours'] == MISSING for h in ('Linear', '1-NN', 'CA')), label
    assert body['supervised (paper only)']['Linear paper'] == '69.8'
    assert body['moco_v2']['Linear paper'] == MISSING and body['moco_v2']['Linear ours'] == '50.5'
    assert 'raw pixels' not in body
    # no published number ever sits in an "ours" column
    published = {f'{v:.1f}' for metrics in PAPER['results'].values() for v in metrics.values()}
    ours = {cells[h] for cells in body.values() for h in header if h.endswith(' ours')}
    assert not ours & published, ours & published
    # the caption names the paper, its protocol and that published numbers use the papers' protocols
    caption = md.split('\n\n')[0]
    assert 'Fake paper' in caption and 'fake linear protocol' in caption and "papers' protocols" in caption
    assert '53 h on 8 V100' in caption


def test_paper_table_of_a_real_suite_with_no_rows(cfgs):
    """A run that produced nothing: every published number appears once, every "ours" cell is '–'."""
    cfg = cfgs['paper_slimclr_mocov2_r50']
    md = paper_table([], cfg.paper)
    header, body = _table_cells(md)
    assert set(body) == set(cfg.paper.results)
    assert all(cells[h] == MISSING for cells in body.values() for h in header if h.endswith((' ours', ' Δ')))
    assert body['slimclr w0.25']['Linear paper'] == '55.1†'   # unverified (docs/methods.md#slimclr)
    assert cfg.paper.title in md


def test_bad_inputs_fail_with_a_clear_message():
    with pytest.raises(ValueError, match='two rows labelled'):
        paper_rows(ROWS + [dict(kind='method', method='crd', status='ok')], PAPER)
    with pytest.raises(ValueError, match="no 'results'"):
        paper_rows(ROWS, dict(title='x'))
    with pytest.raises(ValueError, match='not a finite number'):
        paper_rows(ROWS, dict(results={'cc': dict(linear_top1=None)}))
    with pytest.raises(ValueError, match=re.escape("paper.unverified names 'cc/ca_top2'")):
        paper_rows(ROWS, dict(results={'cc': dict(ca_top1=1.0)}, unverified=['cc/ca_top2']))


def test_table_is_the_same_from_a_dumped_config(cfgs, tmp_path):
    """tools/bench.py saves config.py with mmengine's dump, which sorts dict keys: the table must not change."""
    from mmengine.config import Config
    cfg = cfgs['paper_compress_resnet18']
    cfg.dump(str(tmp_path / 'config.py'))
    rows = [dict(kind='teacher', method='teacher', status='ok', linear_top1=70.0, knn1_top1=56.5, ca_top1=33.0),
            dict(kind='method', method='reg', status='ok', linear_top1=50.0, knn1_top1=40.0, ca_top1=20.0)]
    again = Config.fromfile(str(tmp_path / 'config.py'))
    assert list(again.paper.results) != list(cfg.paper.results)   # the dump did reorder the labels
    first = paper_table(rows, cfg.paper)
    assert [ln.split('|')[1].strip() for ln in first.splitlines() if ln.startswith('|')][2:4] == \
        ['teacher', 'supervised (paper only)']
    header = _table_cells(first)[0]
    assert header == _table_cells(paper_table(rows, again.paper))[0]
    assert _table_cells(first)[1] == _table_cells(paper_table(rows, again.paper))[1]
