"""Long runs that survive: SIGKILL and resume, failure isolation, a fixed config per run folder, one
writer per run folder."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from benchmarks.cli.bench import main
from benchmarks.engine.run_folder import RunFolder
from methods import METHODS
from methods.compress import CompRess2q
from tests.helpers import HELPERS, ROOT
from tests.helpers.bench import BASE_OPTS

OPTS = [*BASE_OPTS, 'evals.suites=[knn,linear]', 'method_cfgs.compress_2q.bank_size=64']
METRICS = ('knn1_top1', 'knn20_top1', 'knn50w_top1', 'linear_top1', 'final_loss')


def _metrics(rows):
    return {r['method']: ({m: r.get(m) for m in METRICS}, r.get('loss_curve')) for r in rows}


# --- SIGKILL in the middle of a training, then the same command again ---------------------------------

def _worker(work, methods, *, wait_for=None):
    """Run tests/helpers/resume_worker.py (tools/bench.py + the slow_crd method); with ``wait_for``, SIGKILL it as
    soon as that file exists (a training checkpoint) and return None."""
    cmd = [sys.executable, str(HELPERS / 'resume_worker.py'), '--work-dir', str(work), '--methods', methods,
           '--cfg-options', *OPTS, 'budget.epochs=3', 'budget.checkpoint_interval=1',
           'method_cfgs.seed.queue_size=64']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    if wait_for is None:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not wait_for.exists():
        assert proc.poll() is None, 'the run ended before it could be interrupted'
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return None


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_gives_the_uninterrupted_leaderboard(tmp_path, cache_dir):
    methods = 'compress_2q,slow_crd,seed'
    ref = tmp_path / 'reference'
    _worker(ref, methods)
    work = tmp_path / 'killed'
    # killed after slow_crd's first epoch checkpoint: compress_2q finished, slow_crd half-trained, seed not started
    _worker(work, methods, wait_for=work / 'slow_crd' / 'last_checkpoint')
    rows = json.loads((work / 'rows.json').read_text())
    assert [r['method'] for r in rows if r['kind'] == 'method'] == ['compress_2q']
    assert not (work / 'slow_crd' / 'train.json').exists()
    before = (work / 'compress_2q' / 'train.json').stat().st_mtime_ns
    out = _worker(work, methods).stdout
    assert 'resuming' in out and 'already finished' in out and 'resuming from its last checkpoint' in out
    assert (work / 'compress_2q' / 'train.json').stat().st_mtime_ns == before  # not retrained
    resumed = json.loads((work / 'rows.json').read_text())
    reference = json.loads((ref / 'rows.json').read_text())
    assert [r['method'] for r in resumed] == [r['method'] for r in reference]
    # same numbers, same per-step losses as the run that was never interrupted
    assert _metrics(resumed) == _metrics(reference)
    assert all(r['status'] == 'ok' for r in resumed)


# --- failure isolation ----------------------------------------------------------------------------

@pytest.fixture
def broken_methods():
    """Two methods that fail on purpose, registered for one test only (the registry is process-wide)."""
    class Diverging(CompRess2q):
        description = 'CompRess whose loss turns into NaN after a third of its training (tests only)'

        def loss(self, batch):
            out = super().loss(batch)
            if self.progress > 0.3:
                out = {k: v * float('nan') for k, v in out.items()}
            return out

    class Raising(CompRess2q):
        description = 'CompRess that raises in its second step (tests only)'

        def loss(self, batch):
            if self.progress > 0:
                raise RuntimeError('simulated bug in the method')
            return super().loss(batch)

    METHODS.register_module(name='diverging', module=Diverging)
    METHODS.register_module(name='raising', module=Raising)
    yield
    for name in ('diverging', 'raising'):
        METHODS.module_dict.pop(name)


@pytest.mark.slow
def test_a_diverging_and_a_raising_method_fail_alone(tmp_path, cache_dir, broken_methods, capsys):
    work = tmp_path / 'run'
    opts = [*OPTS, 'budget.epochs=2', 'budget.log_interval=2', 'method_cfgs.diverging.bank_size=64',
            'method_cfgs.raising.bank_size=64']
    assert main(['--work-dir', str(work), '--methods', 'diverging,compress_2q,raising', '--cfg-options', *opts]) == 0
    rows = {r['method']: r for r in json.loads((work / 'rows.json').read_text())}
    assert rows['compress_2q']['status'] == 'ok' and rows['compress_2q']['knn1_top1'] >= 0
    bad = rows['diverging']
    assert bad['status'] == 'failed' and 'DivergenceError' in bad['error'] and 'non-finite' in bad['error']
    # detected within a few steps of the first NaN (log_interval 2; 12 steps, NaN from step 5)
    first, last = (int(x) for x in bad['error'].split('between iterations ')[1].split(' of ')[0].split(' and '))
    assert last - first <= 2 and 4 <= last <= 7
    assert rows['raising']['status'] == 'failed' and 'RuntimeError: simulated bug' in rows['raising']['error']
    assert 'Traceback' in (work / 'raising' / 'error.log').read_text()
    board = (work / 'leaderboard.md').read_text()
    assert 'diverging (failed: DivergenceError' in board and 'raising (failed: RuntimeError' in board
    out = capsys.readouterr().out
    assert '[diverging] FAILED' in out and 'failed: diverging, raising' in out
    # --fail-fast stops at the first failure instead
    assert main(['--work-dir', str(tmp_path / 'ff'), '--fail-fast', '--methods', 'diverging,compress_2q',
                 '--cfg-options', *opts[:-1]]) == 1
    assert 'DivergenceError' in capsys.readouterr().err


# --- one config per run folder, one writer at a time ------------------------------------------------

@pytest.mark.slow
def test_rerun_skips_everything_and_a_changed_config_is_refused(tmp_path, cache_dir, capsys):
    work = tmp_path / 'run'
    args = ['--work-dir', str(work), '--methods', 'compress_2q', '--cfg-options', *OPTS]
    assert main(args) == 0
    first = (work / 'rows.json').read_text()
    ckpt = work / 'compress_2q' / 'train.json'
    stamp = ckpt.stat().st_mtime_ns
    assert main(args) == 0  # nothing to do: every row reused
    assert ckpt.stat().st_mtime_ns == stamp
    assert _metrics(json.loads((work / 'rows.json').read_text())) == _metrics(json.loads(first))
    capsys.readouterr()
    # the budget is part of the run's identity
    assert main([*args, 'budget.epochs=2']) == 2
    err = capsys.readouterr().err
    assert 'different configuration' in err and 'budget.epochs: 1 -> 2' in err
    # a method's own settings are checked per method
    assert main([*args, 'method_cfgs.compress_2q.temperature=0.1']) == 2
    assert 'method_cfgs.compress_2q differs' in capsys.readouterr().err
    # adding a method to the folder trains only the new one
    assert main(['--work-dir', str(work), '--methods', 'compress_2q,compress_1q', '--cfg-options', *OPTS,
                 'method_cfgs.compress_1q.bank_size=64']) == 0
    assert ckpt.stat().st_mtime_ns == stamp
    assert [r['method'] for r in json.loads((work / 'rows.json').read_text()) if r['kind'] == 'method'] == \
        ['compress_2q', 'compress_1q']


def test_a_second_process_on_the_same_folder_is_refused(tmp_path, capsys):
    holder = RunFolder(tmp_path / 'run')
    holder.lock()
    try:
        assert main(['--work-dir', str(tmp_path / 'run'), '--methods', 'compress_2q', '--cfg-options', *OPTS]) == 2
        assert f'in use by another tools/bench.py (pid {os.getpid()})' in capsys.readouterr().err
    finally:
        holder.unlock()


@pytest.mark.slow
def test_rows_record_provenance_and_the_resolved_config(tmp_path, cache_dir):
    work = tmp_path / 'run'
    assert main(['--work-dir', str(work), '--methods', 'compress_2q', '--cfg-options', *OPTS]) == 0
    row = next(r for r in json.loads((work / 'rows.json').read_text()) if r['kind'] == 'method')
    assert row['git_commit'] and row['device'] and 'torch' in row['versions']
    assert row['config']['budget']['epochs'] == 1 and row['config']['method_cfgs']['compress_2q']['bank_size'] == 64
    assert len(row['loss_curve']) >= 1 and all(torch.isfinite(torch.tensor(p[1])) for p in row['loss_curve'])


def test_a_run_folder_of_another_state_version_is_refused(tmp_path):
    from benchmarks.engine.run_folder import STATE_VERSION
    from benchmarks.errors import ConfigError
    folder = RunFolder(tmp_path / 'run')
    folder.path.mkdir()
    assert folder.check_identity({'budget': {'epochs': 1}}) is False
    assert json.loads((folder.path / 'run.json').read_text())['version'] == STATE_VERSION
    assert folder.check_identity({'budget': {'epochs': 1}}) is True
    (folder.path / 'run.json').write_text(json.dumps(dict(version=STATE_VERSION + 1, identity='x', config={})))
    with pytest.raises(ConfigError, match=f'run-folder state is version {STATE_VERSION + 1}.*Pass another --work-dir'):
        folder.check_identity({'budget': {'epochs': 1}})
