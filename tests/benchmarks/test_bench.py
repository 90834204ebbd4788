"""End-to-end runs of tools/bench.py's entry function with a tiny budget, and its input checks."""
import json
import time

import pytest
import torch

from benchmarks.cli.bench import main
from methods.backbones import build_backbone
from tests.helpers.bench import BASE_OPTS, FAST_EVALS
from tests.helpers.data import TINY, write_imagefolder

TINY_OPTS = BASE_OPTS + [
    'method_cfgs.moco_v2.queue_size=64', 'method_cfgs.compress_2q.bank_size=64',
    'method_cfgs.compress_2q_nomom.bank_size=64', 'method_cfgs.compress_1q.bank_size=64',
]
# for runs of the other methods (--cfg-options may only name keys of the methods being run)
NEW_METHOD_OPTS = ['method_cfgs.crd.num_negatives=16', 'method_cfgs.cc.num_clusters=4',
                   'method_cfgs.slimclr.queue_size=64', 'method_cfgs.bingo.queue_size=64']
METRICS = ('knn1_top1', 'knn20_top1', 'knn50w_top1', 'knn50w_top5', 'linear_top1', 'linear_top5', 'retrieval_r1',
           'retrieval_r2', 'retrieval_r4', 'retrieval_r8', 'ca_top1', 'params_m', 'gmacs', 'gmacs_224')


FIRST_METHODS = 'moco_v2,compress_2q,compress_2q_nomom,compress_1q'


def _run(work_dir, *extra, opts=TINY_OPTS):
    return main(['--work-dir', str(work_dir), '--methods', FIRST_METHODS, *extra, '--cfg-options', *opts])


@pytest.fixture(scope='module')
def first_run(tmp_path_factory, cache_dir):
    work = tmp_path_factory.mktemp('run1')
    assert _run(work) == 0
    return work


@pytest.mark.slow
def test_end_to_end_writes_leaderboard(first_run):
    rows = json.loads((first_run / 'rows.json').read_text())
    kinds = [r['kind'] for r in rows]
    assert kinds == ['teacher', 'method', 'method', 'method', 'method', 'random_init', 'floor']
    assert [r['method'] for r in rows if r['kind'] == 'method'] == ['moco_v2', 'compress_2q', 'compress_2q_nomom',
                                                                    'compress_1q']
    for r in rows:
        for m in METRICS[:11]:
            assert 0.0 <= r[m] <= 100.0, m
        if r['kind'] != 'floor':
            assert r['latency_b1_ms'] > 0 and r['latency_b64_ms'] > 0 and r['throughput_b64'] > 0
        if r['kind'] != 'floor':
            assert r['params_m'] > 0 and r['gmacs'] > 0 and r['gmacs_224'] > r['gmacs']
        if r['kind'] == 'method':
            assert r['images_seen'] == 6 * 32 and r['hparams'] and r['budget']['epochs'] == 1
            assert r['git_commit'] and r['versions']['torch']
    for ext in ('md', 'csv', 'json'):
        assert (first_run / f'leaderboard.{ext}').stat().st_size > 0
    md = (first_run / 'leaderboard.md').read_text()
    assert 'majority vote' in md and 'compress_2q' in md and 'raw pixels' in md and 'random init' in md
    # the random-init row is the students' architecture, as initialised at the run's seed
    init, moco = rows[-2], rows[1]
    assert init['method'] == 'random init' and init['student'] == moco['student'] and init['seed'] == moco['seed']
    assert init['params_m'] == moco['params_m'] and init.get('images_seen') is None
    for header in ('Linear', 'R@1', 'R@8', 'CA', 'ms @b1', 'img/s @b64'):
        assert header in md, header
    assert (first_run / 'config.py').exists()


@pytest.mark.slow
def test_exported_backbone_and_checkpoints_load_weights_only(first_run):
    spec = json.loads((first_run / 'compress_2q' / 'backbone.json').read_text())
    state = torch.load(first_run / 'compress_2q' / 'backbone.pth', weights_only=True)
    model = build_backbone(**spec)
    model.load_state_dict(state, strict=True)
    ckpt = torch.load(first_run / 'compress_2q' / 'epoch_1.pth', weights_only=True, map_location='cpu')
    assert 'state_dict' in ckpt and 'message_hub' in ckpt and 'optimizer' in ckpt


@pytest.mark.slow
def test_same_seed_same_numbers(first_run, tmp_path):
    # the second run reuses the teacher cached by the first one
    assert _run(tmp_path / 'run2') == 0
    a = json.loads((first_run / 'rows.json').read_text())
    b = json.loads((tmp_path / 'run2' / 'rows.json').read_text())
    for ra, rb in zip(a, b):
        assert {m: ra.get(m) for m in METRICS} == {m: rb.get(m) for m in METRICS}, ra['method']
        assert ra.get('images_seen') == rb.get('images_seen')


@pytest.mark.slow
def test_seeds_give_intervals_and_adding_a_seed_trains_only_it(first_run, tmp_path, capsys):
    """``--seeds``: one row per (method, seed) in rows.json, mean ± interval in the tables, and a run
    that already has seed 0 (the first run's folder, copied) trains only the new seeds."""
    import shutil
    work = tmp_path / 'seeds'
    shutil.copytree(first_run, work)
    capsys.readouterr()
    assert main(['--work-dir', str(work), '--methods', 'moco_v2,compress_2q', '--seeds', '0,1,2',
                 '--cfg-options', *TINY_OPTS[:-2]]) == 0
    out = capsys.readouterr()
    log = out.out + out.err
    assert '[moco_v2] already finished in this run folder (seed 0)' in log
    assert '[moco_v2] training resnet18 x0.125 for 1 epochs (mocov2 views) (seed 1)' in log
    assert not (work / 'seed0').exists() and (work / 'seed1' / 'moco_v2' / 'train.json').is_file()
    assert (work / 'seed2' / 'compress_2q' / 'backbone.pth').is_file()
    rows = json.loads((work / 'rows.json').read_text())
    by = {(r['method'], r['seed']) for r in rows}
    for m in ('moco_v2', 'compress_2q', 'random init'):
        assert {(m, 0), (m, 1), (m, 2)} <= by, m
    assert sum(r['kind'] == 'teacher' for r in rows) == 1 and sum(r['kind'] == 'floor' for r in rows) == 1
    first = {r['method']: r for r in json.loads((first_run / 'rows.json').read_text())}
    seed0 = {r['method']: r for r in rows if r['seed'] == 0 and r['kind'] == 'method'}
    assert seed0['moco_v2']['knn1_top1'] == first['moco_v2']['knn1_top1']      # reused, not retrained
    board = json.loads((work / 'leaderboard.json').read_text())['rows']
    moco = next(r for r in board if r['method'] == 'moco_v2')
    assert moco['n_seeds'] == 3 and sorted(map(int, moco['knn1_top1_seeds'])) == [0, 1, 2]
    values = list(moco['knn1_top1_seeds'].values())
    assert moco['knn1_top1'] == pytest.approx(sum(values) / 3)
    comp = next(r for r in board if r['method'] == 'compress_2q')
    assert comp['reference'] == 'moco_v2' and 'knn1_top1_vs_ref_p' in comp
    md = (work / 'leaderboard.md').read_text()
    header = next(line for line in md.splitlines() if line.startswith('| Method'))
    assert ' ± ' in md and 'n' in [c.strip() for c in header.split('|')] and 'seeds 0, 1, 2' in md
    # the same command again: nothing left to train
    capsys.readouterr()
    assert main(['--work-dir', str(work), '--methods', 'moco_v2,compress_2q', '--seeds', '0,1,2',
                 '--cfg-options', *TINY_OPTS[:-2]]) == 0
    assert 'training' not in capsys.readouterr().out.replace('trainings already finished', '')


@pytest.mark.slow
@pytest.mark.parametrize('decode', ['full', 'crop', 'dali'])
def test_imagefolder_data_root(decode, tmp_path, cache_dir):
    if decode == 'dali':
        pytest.importorskip('nvidia.dali', reason='NVIDIA DALI is installed by requirements-dev.txt on Linux x86-64')
    root = write_imagefolder(tmp_path / 'folder', spec=TINY)
    opts = ['budget.epochs=1', 'budget.batch_size=8', 'data.image_size=32', 'teacher.train.epochs=1',
            'teacher.train.batch_size=8', 'teacher.arch.width=0.125', 'student.width=0.125',
            'evals.knn.weighted_k=10', 'evals.knn.majority_ks=[1,5]', 'method_cfgs.compress_2q.bank_size=16',
            f'data.decode={decode}', *FAST_EVALS]
    assert main(['--work-dir', str(tmp_path / 'run'), '--methods', 'compress_2q', '--data-root', str(root),
                 '--cfg-options', *opts]) == 0
    rows = json.loads((tmp_path / 'run' / 'rows.json').read_text())
    assert [r['kind'] for r in rows] == ['teacher', 'method', 'random_init', 'floor']
    assert rows[1]['images_seen'] == 3 * 8
    # a user's ImageFolder gets every evaluation, retrieval on the class-disjoint half of its val split
    for key in ('knn1_top1', 'linear_top1', 'retrieval_r1', 'ca_top1', 'latency_b1_ms'):
        assert key in rows[1], key


@pytest.mark.slow
def test_corrupt_images_stop_the_run_first_or_are_skipped_by_policy(tmp_path, cache_dir, capsys):
    root = write_imagefolder(tmp_path / 'folder', spec=TINY, corrupt=True)  # train/<class0>/broken.png
    opts = ['budget.epochs=1', 'budget.batch_size=8', 'data.image_size=32', 'teacher.train.epochs=1',
            'teacher.train.batch_size=8', 'teacher.arch.width=0.125', 'student.width=0.125',
            'evals.knn.weighted_k=10', 'evals.knn.majority_ks=[1,5]', 'method_cfgs.compress_2q.bank_size=16',
            'evals.suites=[knn]']
    args = ['--methods', 'compress_2q', '--data-root', str(root), '--cfg-options', *opts]
    assert main(['--work-dir', str(tmp_path / 'never'), *args]) == 2
    err = capsys.readouterr().err
    assert 'broken.png' in err and 'data.on_corrupt=skip' in err
    assert not (tmp_path / 'never').exists()
    assert main(['--work-dir', str(tmp_path / 'run'), *args, 'data.on_corrupt=skip']) == 0
    skipped = (tmp_path / 'run' / 'skipped_images.txt').read_text()
    assert 'broken.png' in skipped and len(skipped.strip().splitlines()) == 1


@pytest.mark.parametrize('layout, message', [
    ([], 'train does not exist'),                         # an empty folder
    (['train', 'val'], 'no class sub-folders'),           # split folders without classes
    (['train/cat', 'val/cat'], 'contains no images'),     # class folders without images
])
def test_empty_dataset_folders_fail_first(layout, message, tmp_path, capsys):
    root = tmp_path / 'data'
    root.mkdir()
    for d in layout:
        (root / d).mkdir(parents=True)
    assert main(['--work-dir', str(tmp_path / 'never'), '--data-root', str(root)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'never').exists()


@pytest.mark.parametrize('args, message', [
    (['--methods', 'compress_2q,nope'], 'unknown method'),
    (['--cfg-options', 'budget.epoch=3'], 'budget.epochs'),
    (['--data-root', '/definitely/not/here'], 'not a directory'),
    (['--teacher', '/definitely/not/here.pth'], 'does not exist'),
    (['--config', 'no_such_suite'], 'unknown suite'),
    (['--cfg-options', 'method_cfgs.compress_2q.bank_size=100000'], 'too large for the training set'),
    (['--methods', 'crd', '--cfg-options', 'method_cfgs.crd.num_negatives=5000'], 'at most 4999'),
    (['--cfg-options', 'student.arch=resnet7'], 'not a known backbone'),
    (['--suites', 'knn,retreival'], 'unknown evaluation'),
    (['--seeds', '0,one'], 'seeds must be integers'),
    (['--seeds', '0,1,0'], 'seed 0 is listed twice'),
    (['--seeds', '-1'], 'non-negative'),
    (['--seeds', ','], '--seeds is empty'),
    (['--methods', 'moco_v2', '--compare-to', 'moco'], "--compare-to 'moco' is not a method of this run"),
])
def test_bad_input_fails_fast_with_a_clear_message(args, message, tmp_path, capsys):
    start = time.perf_counter()
    assert main(['--work-dir', str(tmp_path / 'never'), *args]) == 2
    assert message in capsys.readouterr().err
    assert time.perf_counter() - start < 10
    assert not (tmp_path / 'never').exists()


def test_list_prints_every_method(capsys):
    assert main(['--list']) == 0
    out = capsys.readouterr().out
    for name in ('moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
                 'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'slimclr_mocov3', 'supervised'):
        assert name in out
    assert 'NeurIPS 2020' in out


@pytest.mark.slow
def test_methods_with_a_prepare_step_run_end_to_end(tmp_path, cache_dir):
    args = ['--methods', 'crd,cc,moco_v3,slimclr,bingo', '--cfg-options', *BASE_OPTS, *NEW_METHOD_OPTS]
    assert main(['--work-dir', str(tmp_path / 'a'), *args]) == 0
    rows = {r['method']: r for r in json.loads((tmp_path / 'a' / 'rows.json').read_text())}
    assert rows['cc']['hparams']['num_clusters'] == 4 and rows['cc']['prepare_time_s'] > 0
    assert 'num_samples' not in rows['crd']['hparams'] and rows['moco_v3']['teacher'] == 'none'   # prepared, not a hyperparameter
    for name in ('crd', 'cc', 'moco_v3', 'bingo'):
        assert rows[name]['status'] == 'ok' and rows[name]['method_type'] == name
    # BINGO: bags prepared from the teacher, four views of which the teacher sees two (never shared: the
    # partner views show other images), the bags not a hyperparameter
    bingo = rows['bingo']
    assert bingo['num_views'] == 4 and 'bags' not in bingo['hparams'] and bingo['prepare_time_s'] > 0
    assert 2 * bingo['images_seen'] <= bingo['teacher_forward_images'] < 3 * bingo['images_seen']
    # one SlimCLR training, one row and one plain exported backbone per width
    slim = [rows[f'slimclr w{w}'] for w in ('1', '0.75', '0.5', '0.25')]
    assert all(r['shared_training'] and r['train_time_s'] == slim[0]['train_time_s'] for r in slim)
    assert [r['params_m'] for r in slim] == sorted((r['params_m'] for r in slim), reverse=True)
    spec = json.loads((tmp_path / 'a' / 'slimclr' / 'backbone_w0.25.json').read_text())
    assert spec == dict(arch='resnet18', width=0.125, small_input=False)
    build_backbone(**spec).load_state_dict(torch.load(tmp_path / 'a' / 'slimclr' / 'backbone_w0.25.pth',
                                                      weights_only=True), strict=True)
    # the clustering is cached: the second run reuses it and reproduces the row
    assert main(['--work-dir', str(tmp_path / 'b'), '--methods', 'cc', '--cfg-options', *BASE_OPTS,
                 'method_cfgs.cc.num_clusters=4']) == 0
    again = {r['method']: r for r in json.loads((tmp_path / 'b' / 'rows.json').read_text())}
    assert again['cc']['knn20_top1'] == rows['cc']['knn20_top1']
    assert again['cc']['prepare_time_s'] < rows['cc']['prepare_time_s']
