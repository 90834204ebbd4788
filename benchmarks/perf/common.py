"""Shared pieces of the performance benchmark: settings, statistics, targets, machine facts and the
model/batch/loop helpers every measurement uses.

Every figure is a list of per-repeat values reduced to ``median``/``min``/``max`` (`figure`); every
target is a figure compared with a threshold (`target`). Models: on CPU a ResNet-18 x0.125 student and a random frozen ResNet-18 x0.5 teacher with
a MoCo v2 MLP head (the default suite's shapes, configs/suites/default.py), 32 px, batch 64; on CUDA a ResNet-18
student and a ResNet-50 teacher, 224 px, batch 256.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
RESULT_TAG = 'PERF_RESULT '   # the line a measurement subprocess prints its JSON result on


@dataclass
class PerfSettings:
    """What every measurement reads. ``quick``: tiny sizes for tests (figures still real, not
    comparable with full runs). ``repeats``: R, the values behind each median/min/max.
    ``work_dir``: scratch space (runner work folders, JPEG folders); ``threads``: torch intra-op
    threads, None = torch's default."""
    device: str = 'cpu'
    quick: bool = False
    repeats: int = 3
    seed: int = 0
    work_dir: Path = field(default_factory=lambda: Path('.'))
    threads: int | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d['work_dir'] = str(self.work_dir)
        return d


class PerfError(RuntimeError):
    """A measurement that cannot run here (e.g. ``--device cuda`` without a GPU)."""


# --- statistics --------------------------------------------------------------------------------------

def figure(values, unit: str, label: str, note: str | None = None) -> dict:
    """``{label, unit, median, min, max, n, values}`` of the per-repeat ``values`` (all finite)."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError(f'figure {label!r} has no values')
    out = dict(label=label, unit=unit, median=statistics.median(vals), min=min(vals), max=max(vals),
               n=len(vals), values=vals)
    if note:
        out['note'] = note
    return out


def target(name: str, fig: dict, op: str, threshold: float, unit: str = '') -> dict:
    """Compare a figure's median with ``threshold`` (``op`` '<=' or '>=')."""
    if op not in ('<=', '>='):
        raise ValueError(f"op must be '<=' or '>=', got {op!r}")
    value = fig['median']
    met = value <= threshold if op == '<=' else value >= threshold
    return dict(name=name, value=value, op=op, threshold=threshold, unit=unit, met=bool(met),
                label=fig['label'])


def measurement(title: str, settings: dict, figures: dict, targets: list, notes: list, elapsed_s: float,
                load_before) -> dict:
    return dict(title=title, settings=settings, figures=figures, targets=targets, notes=notes,
                elapsed_s=elapsed_s, loadavg_before=list(load_before), loadavg_after=list(os.getloadavg()))


# --- machine ---------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str) -> dict:
    """CPU model, cores, thread settings, GPU, memory and the load average when the run started
    (the load average says how much other work shared the cores: figures from a loaded machine
    are noisy and slow)."""
    import torch
    info = dict(cpu_model=cpu_model(), logical_cores=os.cpu_count(),
                usable_cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(),
                torch_threads=torch.get_num_threads(), torch_interop_threads=torch.get_num_interop_threads(),
                omp_num_threads=os.environ.get('OMP_NUM_THREADS'), omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
                platform=platform.platform(), loadavg_start=list(os.getloadavg()))
    try:
        info['memory_gib'] = round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30, 1)
    except (ValueError, OSError):
        pass
    if device == 'cuda' and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(0)
        info['gpu_memory_gib'] = round(torch.cuda.get_device_properties(0).total_memory / 2 ** 30, 1)
        info['cuda'] = torch.version.cuda
    else:
        info['gpu'] = None
    return info


def check_device(device: str) -> None:
    import torch
    if device not in ('cpu', 'cuda'):
        raise PerfError(f"--device must be 'cpu' or 'cuda', got {device!r}.")
    if device == 'cuda' and not torch.cuda.is_available():
        raise PerfError('--device cuda was asked for, but torch sees no CUDA device on this machine; run with '
                        '--device cpu here, or run tools/perf.py on a machine with a GPU.')


def sync(device) -> None:
    """Wait for queued GPU work, so wall-clock windows hold the work they launched."""
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


# --- models, batches, loops ------------------------------------------------------------------------

def model_shapes(settings: PerfSettings) -> dict:
    """Resolution, batch, student and teacher of the training measurements (module docstring);
    ``quick`` keeps the architectures and resolution and cuts the batch to 16."""
    if settings.device == 'cuda':
        shapes = dict(image_size=224, batch_size=256, student=dict(arch='resnet18', width=1.0, small_input=False),
                      teacher=dict(arch='resnet50', width=1.0, small_input=False))
    else:
        shapes = dict(image_size=32, batch_size=64, student=dict(arch='resnet18', width=0.125, small_input=False),
                      teacher=dict(arch='resnet18', width=0.5, small_input=False))
    if settings.quick:
        shapes['batch_size'] = 16
    return shapes


def build_teacher(arch: dict, seed: int = 0, head_dim: int = 128):
    """A random frozen teacher with a MoCo v2 head ``Linear(d, d)-ReLU-Linear(d, 128)``: its weights
    do not change the cost of a step, only its shapes do."""
    import torch

    from benchmarks.teachers.teacher import Teacher
    from methods.backbones import build_backbone
    from methods.heads import mlp_head
    torch.manual_seed(seed)
    backbone = build_backbone(**arch)
    return Teacher(backbone, mlp_head(backbone.feat_dim, backbone.feat_dim, head_dim), name='perf-random')


def method_cfg(name: str, device: str, **overrides) -> dict:
    """The hyperparameters a method trains with: the default suite's (CPU-sized banks, from
    configs/suites/default.py) on CPU, the official ones (the methods' __init__ defaults) on CUDA."""
    from benchmarks.config import method_defaults, resolve
    if device == 'cuda':
        cfg = method_defaults(name)
        cfg.setdefault('type', name)
    else:
        cfg = dict(resolve('default', methods=[name]).method_cfgs[name])
    cfg.update(overrides)
    return cfg


def default_budget(epochs: int, batch_size: int) -> dict:
    """The default suite's budget (configs/_base_/budgets/cpu_tiny.py) with ``epochs``/``batch_size``
    replaced; checkpoints every epoch, as the suite does."""
    from benchmarks.config import resolve
    budget = dict(resolve('default', methods=['compress_2q']).budget.to_dict())
    budget.update(epochs=epochs, batch_size=batch_size)
    return budget


def prepared_kwargs(name: str, cfg: dict, num_samples: int, teacher, seed: int = 0) -> dict:
    """Run the method's ``prepare`` (CRD: memory size; cc: k-means) on a context of ``num_samples``
    samples whose teacher features are random (``[N, D]`` Gaussian, seeded): the cost of a step
    depends on their shapes, not their values."""
    import torch

    from methods import get_method
    from methods.base import PrepareContext

    def features(kind):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(num_samples, teacher.feat_dims[kind], generator=g)

    ctx = PrepareContext(num_samples=num_samples, teacher=teacher, teacher_features=features,
                         cached=lambda _name, _key, compute: compute(), seed=seed, log=lambda msg: None)
    return get_method(cfg.get('type', name)).prepare(ctx, {k: v for k, v in cfg.items() if k != 'type'})


def premade_batch(batch_size: int, image_size: int, num_views: int = 1, seed: int = 0):
    """A collated ``(index [B], [uint8 [B,3,S,S]] * views, label [B])`` batch, as the loaders make."""
    import torch
    g = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (batch_size, 3, image_size, image_size), dtype=torch.uint8, generator=g)
             for _ in range(num_views)]
    return torch.arange(batch_size), views, torch.zeros(batch_size, dtype=torch.long)


class FixedBatchDataset:
    """``length`` samples whose collate function ignores them and returns one pre-made batch, so a
    runner trained on it spends (almost) no time on data: what is left is the harness itself."""

    def __init__(self, batch, length: int):
        self.batch = batch
        self.length = length
        self.image_size = batch[1][0].shape[-1]

    def __len__(self):
        return self.length

    def __getitem__(self, key):
        return key

    def collate_fn(self, views_on_device: bool = False):
        """The pre-made batch (its views are made already, wherever the runner would make them)."""
        batch = self.batch
        return lambda samples: batch


def bare_steps(method, batch, optimizer, steps: int, device, sync_each: bool = True) -> list:
    """Seconds of each of ``steps`` plain PyTorch steps on ``batch``: preprocess -> loss terms ->
    sum of the ``loss*`` terms -> zero_grad/backward/step, what mmengine's ``train_step`` does without
    the Runner, hooks and logging around it. ``sync_each=False`` leaves CUDA work queued (the times
    are then host times; time a window with `sync` around it instead)."""
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        data = method.data_preprocessor(batch, True)
        losses = method(*data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if sync_each:
            sync(device)
        out.append(time.perf_counter() - t)
    return out


def build_for_bare_loop(name: str, cfg: dict, shapes: dict, teacher, device, prepared: dict, budget: dict, seed: int):
    """A method on ``device`` in train mode and its SGD optimiser, built as `train_method` builds them."""
    import torch

    from benchmarks.engine.runner import build_method
    teacher.to(device)
    torch.manual_seed(seed)
    method = build_method(name, cfg, shapes['student'], teacher, prepared=prepared).to(device)
    method.train()
    opt_cfg = dict(budget['optimizer'])
    if opt_cfg.pop('type', 'SGD') != 'SGD':
        raise PerfError(f'the default budget\'s optimiser is {budget["optimizer"].get("type")}, but the bare loop of '
                        f'benchmarks/perf/common.py builds SGD only; extend build_for_bare_loop to build the same '
                        f'optimiser as benchmarks.engine.runner, or the harness comparison is not like for like.')
    return method, torch.optim.SGD(method.trainable_parameters(), **opt_cfg)


# --- subprocesses ----------------------------------------------------------------------------------

def run_worker(module: str, spec: dict, env: dict | None = None, timeout_s: float = 600) -> dict:
    """Run ``python -m module --worker JSON`` in a fresh interpreter (fresh peak RSS, fresh
    OpenMP state) and return the JSON it printed after `RESULT_TAG`."""
    full_env = dict(os.environ)
    # the folder holding the `benchmarks` package this process imported (the checkout or site-packages);
    # -P: the working directory (left as it is) must not shadow it
    full_env['PYTHONPATH'] = str(REPO_ROOT) + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, '-P', '-m', module, '--worker', json.dumps(spec)],
                          env=full_env, capture_output=True, text=True, timeout=timeout_s)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    raise PerfError(f'the measurement subprocess {module} {spec} exited with code {proc.returncode} without printing '
                    f'a result; run that command by hand (python -m {module} --worker \'SPEC\') to see the full '
                    f'error. Its last output lines:\n' + '\n'.join(tail))


def worker_main(func) -> None:
    """Entry point of a measurement module run as a worker: parse the JSON spec, print the result."""
    if len(sys.argv) != 3 or sys.argv[1] != '--worker':
        raise SystemExit(f'usage: python -m {func.__module__} --worker JSON (started by tools/perf.py)')
    result = func(json.loads(sys.argv[2]))
    print(RESULT_TAG + json.dumps(result), flush=True)


def _status_mib(key: str) -> float | None:
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith(key + ':'):
                return int(line.split()[1]) / 1024   # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_peak_rss() -> float:
    """Start a new peak-RSS window (Linux: ``5`` into ``/proc/self/clear_refs`` resets VmHWM to the
    current RSS) and return the current RSS in MiB: the baseline of `peak_rss_mib`. Without the reset,
    an import-time transient above the later peak would hide every allocation that follows."""
    try:
        Path('/proc/self/clear_refs').write_text('5')
    except OSError:
        pass
    current = _status_mib('VmRSS')
    return current if current is not None else peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB since the last `reset_peak_rss` (VmHWM; where
    /proc is missing, ``ru_maxrss``, which Linux reports in KiB, since the process started)."""
    hwm = _status_mib('VmHWM')
    if hwm is not None:
        return hwm
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
