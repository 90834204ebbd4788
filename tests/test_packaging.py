"""The package as a user installs it: the wheel built from this checkout, installed (not editable) into a
fresh virtual environment, its console scripts run from a folder outside the repository.

The fresh venv gets the project venv's dependencies (torch, mmengine, ...) through one path line in a .pth
file rather than ``--system-site-packages``: the project venv is itself a venv, so
``--system-site-packages`` would expose the base interpreter's packages, not its torch. A path line adds
the folder as a plain sys.path entry, whose own .pth files (the checkout's editable-install finder) are
not run, so ``benchmarks`` can only be imported from the wheel; the test checks that it is.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow

# the source tree the build sees: the checkout without its environment, VCS data, build leftovers and
# results (building from a copy keeps stale build/lib files out of the wheel and the checkout clean)
NOT_SOURCE = shutil.ignore_patterns('.git', '.venv', 'results', 'build', 'dist', '*.egg-info', '__pycache__',
                                    '*.pyc', '.pytest_cache', '.cache', 'work_dirs')
# a run of a few seconds: 160 tiny images, a 1-epoch x0.125 teacher and student
TINY = ['data.train_per_class=16', 'data.val_per_class=4', 'data.image_size=32', 'budget.epochs=1',
        'budget.batch_size=32', 'budget.log_interval=1', 'teacher.train.epochs=1', 'teacher.train.batch_size=32',
        'teacher.arch.width=0.125', 'student.width=0.125', 'evals.knn.weighted_k=20',
        'method_cfgs.compress_2q.bank_size=64', 'device=cpu']
SCRIPTS = ('sslcb-bench', 'sslcb-evaluate', 'sslcb-report')


def _run(cmd, cwd=None, env=None, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f'{" ".join(map(str, cmd))} exited with {proc.returncode}\n'
                                  f'stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}')
    return proc


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index',
          '-w', tmp / 'dist', src])
    (path,) = (tmp / 'dist').glob('ssl_compress_bench-*.whl')
    return path


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed and the project venv's packages visible."""
    path = tmp_path_factory.mktemp('venv') / 'venv'
    _run([sys.executable, '-m', 'venv', '--without-pip', path])
    python = path / 'bin' / 'python'
    _run([sys.executable, '-m', 'pip', '--python', python, 'install', '--no-deps', '--no-index', wheel])
    site = Path(_run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.strip())
    # after the install: pip must not see (and try to replace) the project's editable install
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ('purelib', 'platlib'))
    (site / '_sslcb_test_deps.pth').write_text(''.join(f'{d}\n' for d in deps))
    return path, site


@pytest.fixture(scope='module')
def user_env(cache_dir):
    """The environment of a user outside the checkout: nothing of it on PYTHONPATH, default results folder."""
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'SSLCB_RESULTS')}
    env.update(PYTHONNOUSERSITE='1', SSLCB_CACHE=str(cache_dir))
    return env


def test_wheel_holds_the_packages_and_configs_not_the_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split('/')[0] for n in names}
    assert tops == {'benchmarks', 'methods', f'{wheel.name.split("-py3")[0]}.dist-info'}, tops
    for sub in ('data', 'teachers', 'engine', 'evals', 'reporting', 'cli', 'perf'):
        assert f'benchmarks/{sub}/__init__.py' in names
    configs = sorted(p.relative_to(ROOT / 'configs').as_posix() for p in (ROOT / 'configs').rglob('*.py')
                     if '__pycache__' not in p.parts)
    assert configs and all(f'benchmarks/_configs/{c}' in names for c in configs)
    assert 'benchmarks/data/class_lists/imagenet100_cmc.txt' in names   # the ImageNet-100 class list
    assert not [n for n in names if n.endswith('.pyc') or '__pycache__' in n]
    entry_points = next(zipfile.Path(wheel, n).read_text() for n in names if n.endswith('entry_points.txt'))
    for script, target in zip(SCRIPTS, ('bench', 'evaluate', 'report')):
        assert f'{script} = benchmarks.cli.{target}:main' in entry_points


def test_installed_package_runs_outside_the_checkout(venv, user_env, tmp_path):
    path, site = venv
    work = tmp_path / 'user'
    work.mkdir()
    assert ROOT not in work.resolve().parents
    for script in SCRIPTS:
        assert (path / 'bin' / script).is_file()
    # the wheel's copy is the one imported, its configs are found, and every suite resolves there
    # (the suites' relative _base_ references point inside the installed copy)
    probe = _run([path / 'bin' / 'python', '-c', (
        'import benchmarks, methods\n'
        'from mmengine.config import Config\n'
        'from benchmarks.config import CONFIG_DIR, find_config, results_dir\n'
        'suites = sorted((CONFIG_DIR / "suites").glob("*.py"))\n'
        'assert suites and all(Config.fromfile(str(s)).methods for s in suites)\n'
        'print(benchmarks.__file__, methods.__file__, CONFIG_DIR, results_dir(),\n'
        '      find_config("configs/detection/embedded_voc_faster_rcnn_fpn.py"), sep="\\n")\n')],
        cwd=work, env=user_env)
    lines = probe.stdout.strip().splitlines()[-5:]
    site = site.resolve()
    assert Path(lines[0]).resolve() == site / 'benchmarks' / '__init__.py', lines
    assert Path(lines[1]).resolve() == site / 'methods' / '__init__.py', lines
    assert Path(lines[2]).resolve() == site / 'benchmarks' / '_configs', lines
    assert Path(lines[3]).resolve() == work.resolve() / 'results', lines
    assert Path(lines[4]).resolve() == site / 'benchmarks' / '_configs' / 'detection' / 'embedded_voc_faster_rcnn_fpn.py'

    listing = _run([path / 'bin' / 'sslcb-bench', '--list'], cwd=work, env=user_env)
    assert 'compress_2q' in listing.stdout

    _run([path / 'bin' / 'sslcb-bench', '--config', 'default', '--methods', 'compress_2q', '--evals', 'knn,flops',
          '--cfg-options', *TINY], cwd=work, env=user_env)
    (run,) = (work / 'results').glob('default-*')
    assert (run / 'leaderboard.md').is_file() and (run / 'compress_2q' / 'backbone.pth').is_file()

    (run / 'leaderboard.md').unlink()
    _run([path / 'bin' / 'sslcb-report', run], cwd=work, env=user_env)
    assert 'compress_2q' in (run / 'leaderboard.md').read_text()

    assert 'usage' in _run([path / 'bin' / 'sslcb-evaluate', '--help'], cwd=work, env=user_env).stdout
    _run([path / 'bin' / 'sslcb-evaluate', '--backbone', run / 'compress_2q' / 'backbone.pth', '--evals', 'knn',
          '--cfg-options', *TINY[:3], 'evals.knn.weighted_k=20'], cwd=work, env=user_env)
    (evaluated,) = (work / 'results').glob('eval-*')
    assert (evaluated / 'leaderboard.md').is_file()
