"""Distributed training on CPU with gloo: 2 processes under torchrun match one process with the same
global batch (CompRess, SEED, DisCo, BINGO), and tools/bench.py runs end to end under torchrun."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from benchmarks.data.datasets import EpochIndexSampler
from benchmarks.engine.distributed import first_slurm_host, slurm_to_torchrun_env
from benchmarks.errors import ConfigError
from benchmarks.engine.runner import check_budget
from tests.helpers import HELPERS, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _env():
    # one thread per process: two processes share the 2 cores
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))


def _torchrun(nproc: int, *args, timeout=600):
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
           f'--master_port={_free_port()}', *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _worker(method, out, nproc):
    worker = str(HELPERS / 'dist_worker.py')
    if nproc == 1:
        proc = subprocess.run([sys.executable, worker, '--method', method, '--out', str(out)], cwd=ROOT,
                              env=_env(), capture_output=True, text=True, timeout=600)
    else:
        proc = _torchrun(nproc, worker, '--method', method, '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / 'result.json').read_text()), torch.load(out / 'buffers.pt', weights_only=True)


@pytest.mark.slow
@pytest.mark.parametrize('method', ['compress_2q', 'seed', 'disco', 'bingo'])
def test_two_gloo_processes_match_one_process(method, tmp_path, cache_dir):
    single, single_buf = _worker(method, tmp_path / 'single', 1)
    ddp, ddp_buf = _worker(method, tmp_path / 'ddp', 2)
    assert single['world_size'] == 1 and ddp['world_size'] == 2
    # same number of steps over the same global batches
    assert single['iterations'] == ddp['iterations'] == 8 and single['images_seen'] == ddp['images_seen']
    steps_s, loss_s = zip(*single['loss_curve'])
    steps_d, loss_d = zip(*ddp['loss_curve'])
    assert steps_s == steps_d
    # every step's global-batch loss agrees to float rounding (a mismatched shard or an unsynchronised
    # queue would move it by orders of magnitude more)
    assert torch.allclose(torch.tensor(loss_d), torch.tensor(loss_s), rtol=1e-4, atol=1e-6), (loss_s, loss_d)
    assert set(single_buf) == set(ddp_buf) and any('bank' in k for k in single_buf)
    for key in single_buf:
        assert torch.allclose(ddp_buf[key].float(), single_buf[key].float(), atol=1e-5), key
        if key.endswith('ptr'):
            assert int(ddp_buf[key]) == int(single_buf[key])
    # the queues were rewritten by training (not still their seeded initialisation): not a vacuous check
    init = torch.load(tmp_path / 'single' / 'buffers_init.pt', weights_only=True)
    for key in single_buf:
        if not key.endswith('ptr'):
            assert not torch.allclose(init[key].float(), single_buf[key].float(), atol=1e-3), key


def test_sampler_gives_each_rank_its_block_of_the_global_batch():
    data = list(range(37))
    single = EpochIndexSampler(data, shuffle=True, seed=3, batch_size=8)
    single.set_epoch(2)
    order = [i for _, i in single]
    assert len(order) == len(single) == 32  # 4 global batches of 8, the 5 left over dropped
    ranks = []
    for rank in range(2):
        s = EpochIndexSampler(data, shuffle=True, seed=3, batch_size=4)
        s.rank, s.world_size = rank, 2
        s.num_samples = (len(data) // 8) * 4
        s.set_epoch(2)
        ranks.append([i for _, i in s])
        assert all(e == 2 for e, _ in s)
    for b in range(4):  # rank 0's block then rank 1's block = the single-process batch, in order
        assert ranks[0][4 * b:4 * b + 4] + ranks[1][4 * b:4 * b + 4] == order[8 * b:8 * b + 8]


def test_slurm_environment_becomes_torchrun_environment():
    env = dict(SLURM_PROCID='3', SLURM_NTASKS='8', SLURM_LOCALID='1', SLURM_JOB_NODELIST='gpu[07-08]')
    out = slurm_to_torchrun_env(env)
    assert out['RANK'] == '3' and out['WORLD_SIZE'] == '8' and out['LOCAL_RANK'] == '1'
    assert out['MASTER_ADDR'] == 'gpu07' and out['MASTER_PORT'] == '29500'
    assert slurm_to_torchrun_env(dict(env, RANK='3')) == {}          # torchrun already set it up
    assert slurm_to_torchrun_env(dict(env, SLURM_NTASKS='1')) == {}  # a single task
    assert first_slurm_host('node[03-05,7],gpu1') == 'node03' and first_slurm_host('cn12') == 'cn12'


@pytest.mark.parametrize('key,value', [('amp', 'bf16'), ('channels_last', True), ('sync_bn', True)])
def test_gpu_budget_options_are_refused_on_cpu(key, value):
    with pytest.raises(ConfigError, match=f'budget.{key} is a GPU option'):
        check_budget({'batch_size': 64, key: value}, device='cpu')


def test_bad_amp_dtype_and_indivisible_global_batch():
    with pytest.raises(ConfigError, match="'fp8'"):
        check_budget({'batch_size': 64, 'amp': 'fp8'}, device='cpu')
    with pytest.raises(ConfigError, match='multiple of 3'):
        check_budget({'batch_size': 64}, device='cpu', world_size=3)


@pytest.mark.slow
def test_bench_under_torchrun_two_processes(tmp_path, cache_dir):
    """The README's distributed command on CPU: every method trains on both processes, rank 0 writes."""
    work = tmp_path / 'run'
    opts = ['data.train_per_class=16', 'data.val_per_class=4', 'data.image_size=32', 'budget.epochs=1',
            'budget.batch_size=32', 'budget.log_interval=1', 'teacher.train.epochs=1',
            'teacher.train.batch_size=32', 'teacher.arch.width=0.125', 'student.width=0.125',
            'evals.knn.weighted_k=20', 'method_cfgs.compress_2q.bank_size=64', 'method_cfgs.crd.num_negatives=16',
            'method_cfgs.cc.num_clusters=4', 'device=cpu']
    proc = _torchrun(2, 'tools/bench.py', '--work-dir', str(work), '--methods', 'compress_2q,crd,cc',
                     '--suites', 'knn,flops', '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = json.loads((work / 'rows.json').read_text())
    assert [r['method'] for r in rows] == ['teacher', 'compress_2q', 'crd', 'cc', 'random init', 'raw pixels']
    assert all(r['world_size'] == 2 for r in rows)
    for r in rows[1:4]:
        assert r['status'] == 'ok' and r['images_seen'] == 160 - 160 % 32 and 0 <= r['knn1_top1'] <= 100
    assert (work / 'leaderboard.md').is_file()
    assert proc.stdout.count('results:') == 1  # only rank 0 reports


@pytest.mark.slow
def test_slurm_launcher_runs_bench_with_one_task_per_process(tmp_path, cache_dir):
    """tools/slurm_bench.sh through a local stand-in for srun (tests/helpers/fake_slurm/srun: 2 tasks with Slurm's
    per-task environment); the process group is built from SLURM_* alone (no torchrun)."""
    work = tmp_path / 'slurm'
    env = dict(_env(), PATH=f"{HELPERS / 'fake_slurm'}:{os.environ['PATH']}", PYTHON=sys.executable,
               MASTER_PORT=str(_free_port()))
    opts = ['data.train_per_class=8', 'data.val_per_class=4', 'data.image_size=32', 'budget.epochs=1',
            'budget.batch_size=16', 'teacher.train.epochs=1', 'teacher.train.batch_size=16',
            'teacher.arch.width=0.125', 'student.width=0.125', 'evals.knn.weighted_k=10',
            'method_cfgs.compress_2q.bank_size=32', 'device=cpu']
    proc = subprocess.run(['bash', 'tools/slurm_bench.sh', 'debug', 'sslcb-test', '2', '--work-dir', str(work),
                           '--methods', 'compress_2q', '--suites', 'knn', '--cfg-options', *opts],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = json.loads((work / 'rows.json').read_text())
    assert [r['method'] for r in rows] == ['teacher', 'compress_2q', 'random init', 'raw pixels']
    assert all(r['world_size'] == 2 for r in rows)
