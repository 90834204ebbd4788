"""Process-group setup for multi-process runs: torchrun (one or many nodes) and Slurm.

``tools/bench.py`` is the same program on one process and on many:

    torchrun --nproc_per_node=8 tools/bench.py ...                       # one node, 8 GPUs (NCCL)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \\
             --rdzv_endpoint=HOST:29500 tools/bench.py ...                # two nodes
    torchrun --nproc_per_node=2 tools/bench.py --cfg-options device=cpu  # CPU, gloo
    tools/slurm_bench.sh PARTITION JOB GPUS ...                          # srun, one task per GPU

`init_distributed` reads torchrun's environment (``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*``)
or, when a job was started by ``srun`` without torchrun, translates Slurm's (``SLURM_PROCID``,
``SLURM_NTASKS``, ``SLURM_LOCALID``, the first host of ``SLURM_JOB_NODELIST`` as master), the same
recipe as mmengine's slurm launcher. It initialises the process group itself *before* the mmengine
Runner is built, with NCCL on GPUs and gloo on CPU: mmengine's own launcher calls
``torch.cuda.set_device`` and fails on a CPU-only machine (checked with mmengine 0.10.7).

Rank 0 alone writes results, evaluates and logs; the others train and wait at `barrier`. The timeout
is long (``SSLCB_DIST_TIMEOUT_MIN``, default 240 minutes) because the other ranks wait while rank 0
evaluates a method (detection transfer included) before the next method starts.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = 'none'

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def first_slurm_host(nodelist: str) -> str:
    """The first host of a Slurm node list (``node[03-05,7],gpu1`` -> ``node03``), via scontrol when
    available (it knows every syntax), else by parsing the common bracket form."""
    try:
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodelist], capture_output=True, text=True,
                             check=True, timeout=30).stdout.split()
        if out:
            return out[0]
    except (OSError, subprocess.SubprocessError):
        pass
    first = re.split(r',(?![^\[]*\])', nodelist)[0]
    m = re.match(r'^(.*?)\[([^\]]+)\](.*)$', first)
    if not m:
        return first
    prefix, ranges, suffix = m.groups()
    return prefix + ranges.split(',')[0].split('-')[0] + suffix


def slurm_to_torchrun_env(environ=None) -> dict:
    """The torchrun variables implied by a Slurm task's environment (empty when not under srun, or
    when torchrun already set them)."""
    env = os.environ if environ is None else environ
    if 'RANK' in env or 'SLURM_PROCID' not in env or int(env.get('SLURM_NTASKS', '1')) <= 1:
        return {}
    return dict(RANK=env['SLURM_PROCID'], WORLD_SIZE=env['SLURM_NTASKS'], LOCAL_RANK=env.get('SLURM_LOCALID', '0'),
                MASTER_ADDR=env.get('MASTER_ADDR') or first_slurm_host(env['SLURM_JOB_NODELIST']),
                MASTER_PORT=env.get('MASTER_PORT', '29500'))


def dist_info() -> DistInfo:
    """This process's place in the current process group (a single process when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get('LOCAL_RANK', '0')),
                        dist.get_backend())
    return DistInfo()


def init_distributed(device: str = 'auto') -> DistInfo:
    """Join the process group described by the environment (torchrun or Slurm); a no-op for a
    single process. ``device`` is the config's: 'cpu' forces gloo even where GPUs exist."""
    if dist.is_available() and dist.is_initialized():
        return dist_info()
    os.environ.update(slurm_to_torchrun_env())
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world <= 1:
        return DistInfo()
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    use_cuda = torch.cuda.is_available() and not str(device).startswith('cpu')
    if use_cuda:
        torch.cuda.set_device(local_rank)
    backend = 'nccl' if use_cuda else 'gloo'
    timeout = timedelta(minutes=float(os.environ.get('SSLCB_DIST_TIMEOUT_MIN', '240')))
    dist.init_process_group(backend=backend, rank=int(os.environ['RANK']), world_size=world, timeout=timeout)
    return dist_info()


def barrier() -> None:
    if dist_info().distributed:
        dist.barrier()


def broadcast_object(obj, src: int = 0):
    """``obj`` from rank ``src`` on every rank (pickled; for small things: paths, prepared tensors)."""
    if not dist_info().distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_reduce_mean(value: float) -> float:
    """Mean of a Python number over ranks (for logging at intervals only: it synchronises)."""
    info = dist_info()
    if not info.distributed:
        return value
    dev = torch.device('cuda', torch.cuda.current_device()) if info.backend == 'nccl' else torch.device('cpu')
    t = torch.tensor([float(value)], dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size
