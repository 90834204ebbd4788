"""tools/bench.py on the dataset suites (cifar100_resnet18, stl10_resnet18, imagenet100_resnet18) with
files generated in each dataset's native format, a tiny budget, and their input checks."""
import json
import re

import pytest

from benchmarks.cli.bench import main
from tests.helpers.bench import FAST_EVALS
from tests.helpers.native_data import write_cifar, write_stl10

# the suites' networks and budgets cut to test size; the data stays in its native format
TINY = ['budget.epochs=1', 'budget.batch_size=32', 'budget.num_workers=0', 'budget.log_interval=2',
        'teacher.train.epochs=1', 'teacher.train.batch_size=32', 'teacher.train.num_workers=0',
        'teacher.train.method_cfg.queue_size=64', 'teacher.arch.width=0.125', 'student.width=0.125',
        'evals.knn.weighted_k=20', 'method_cfgs.compress_2q.bank_size=64', *FAST_EVALS]


def _rows(folder):
    return {r['method']: r for r in json.loads((folder / 'rows.json').read_text())}


@pytest.mark.slow
def test_cifar100_suite_end_to_end_on_native_files(tmp_path, cache_dir):
    written = write_cifar(tmp_path / 'data', kind='cifar100', n_train=256, n_test=200, seed=3)
    work = tmp_path / 'run'
    assert main(['--config', 'cifar100_resnet18', '--data-root', str(tmp_path / 'data'), '--work-dir', str(work),
                 '--methods', 'compress_2q,supervised', '--cfg-options', *TINY]) == 0
    rows = _rows(work)
    assert set(rows) == {'teacher', 'compress_2q', 'supervised', 'random init', 'raw pixels'}
    for name in ('compress_2q', 'supervised'):
        assert rows[name]['images_seen'] == 256 // 32 * 32 and rows[name]['image_size'] == 32
        for key in ('knn1_top1', 'linear_top1', 'retrieval_r1', 'ca_top1'):
            assert 0.0 <= rows[name][key] <= 100.0, key
    # the networks are the suite's: CIFAR stem (3x3, stride 1) students and teacher
    assert 'small-stem' in rows['compress_2q']['student'] and 'resnet50' in rows['teacher']['student']
    md = (work / 'leaderboard.md').read_text()
    assert 'CIFAR-100' in md and 'train 256' in md and 'test 200' in md and 'retrieval on its classes 50-99' in md
    snapshot = (work / 'config.py').read_text()
    assert re.search(r"type\s*=\s*'cifar100'", snapshot) and str(tmp_path / 'data') in snapshot
    assert len(written['classes']) == 100


@pytest.mark.slow
def test_stl10_suite_trains_on_unlabeled_and_probes_on_train(tmp_path, cache_dir):
    write_stl10(tmp_path / 'data', n_train=40, n_test=30, n_unlabeled=96, seed=1)
    work = tmp_path / 'run'
    opts = [o for o in TINY if not o.startswith(('budget.batch_size', 'teacher.train.batch_size'))]
    opts += ['budget.batch_size=16', 'teacher.train.batch_size=16', 'method_cfgs.compress_2q.bank_size=32',
             'teacher.train.method_cfg.queue_size=32', 'evals.knn.weighted_k=10', 'evals.knn.majority_ks=[1,5]']
    assert main(['--config', 'stl10_resnet18', '--data-root', str(tmp_path / 'data'), '--work-dir', str(work),
                 '--methods', 'compress_2q,supervised', '--cfg-options', *opts]) == 0
    rows = _rows(work)
    assert rows['compress_2q']['images_seen'] == 96          # the unlabelled split
    assert rows['supervised']['images_seen'] == 32           # labels exist on the train split only (40 -> 2 x 16)
    assert rows['compress_2q']['image_size'] == 64
    md = (work / 'leaderboard.md').read_text()
    assert 'STL-10' in md and 'unlabeled 96 (training) + train 40' in md and 'test 30' in md


@pytest.mark.parametrize('suite, expected', [
    ('cifar100_resnet18', 'cifar-100-python/'),
    ('stl10_resnet18', 'stl10_binary/'),
    ('imagenet100_resnet18', 'train/<wnid>/'),
])
def test_dataset_suite_without_data_stops_before_work(suite, expected, tmp_path, capsys):
    assert main(['--config', suite, '--work-dir', str(tmp_path / 'never')]) == 2
    err = capsys.readouterr().err
    assert 'no dataset folder was given' in err and '--data-root' in err and expected in err
    assert not (tmp_path / 'never').exists()


@pytest.mark.parametrize('suite, message', [
    ('cifar100_resnet18', 'no CIFAR-100 files'),
    ('stl10_resnet18', 'no STL-10 files'),
    ('imagenet100_resnet18', 'has no train/ folder'),
])
def test_dataset_suite_on_the_wrong_folder_stops_before_work(suite, message, tmp_path, capsys):
    (tmp_path / 'data' / 'something_else').mkdir(parents=True)
    assert main(['--config', suite, '--data-root', str(tmp_path / 'data'), '--work-dir', str(tmp_path / 'never')]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'never').exists()


def test_incomplete_cifar_names_the_missing_file(tmp_path, capsys):
    write_cifar(tmp_path / 'data', kind='cifar100', n_train=64, n_test=20)
    (tmp_path / 'data' / 'cifar-100-python' / 'test').unlink()
    assert main(['--config', 'cifar100_resnet18', '--data-root', str(tmp_path / 'data'),
                 '--work-dir', str(tmp_path / 'never')]) == 2
    err = capsys.readouterr().err
    assert 'incomplete CIFAR-100 folder' in err and 'test is missing' in err
    assert not (tmp_path / 'never').exists()


def test_data_root_keeps_the_suites_data_type():
    from benchmarks.config import resolve
    assert resolve('cifar100_resnet18', data_root='/x').data.type == 'cifar100'
    assert resolve('imagenet100_resnet18', data_root='/x').data.type == 'imagenet100'
    assert resolve('default', data_root='/x').data.type == 'imagefolder'   # the embedded suite: an ImageFolder
