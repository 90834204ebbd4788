"""Wall-clock forward latency and throughput of a backbone (the timing half of the cost columns;
parameters and GMACs are in ``flops.py``).

Protocol (no paper of the field fixes one; this follows ``torch.utils.benchmark``: warm-up, an
adaptive number of runs with a minimum total run time as in ``Timer.blocked_autorange``, and the
median as the reported statistic, ``Measurement.median``). Deviation: each forward is timed on its
own (not in blocks), so min/max are per-batch figures, and the run time is capped:

* the backbone runs in eval mode under ``torch.inference_mode()`` on a fixed random input
  ``[B, 3, S, S]`` in the backbone's parameter dtype, default memory format; global flags
  (``cudnn.benchmark``, thread count, TF32) are left as the caller set them and the thread count
  is recorded in ``latency_device``;
* per batch size: ``warmup`` untimed forwards, then timed forwards until at least ``repeats`` runs
  *and* ``min_time_s`` of timed forward time are reached, unless the per-batch-size cap
  ``max_time_s`` (warm-up included) is hit first; warm-up stops early once it has used half the
  cap. At least one warm-up (if ``warmup >= 1``) and one timed forward always run, so a single
  forward slower than the cap costs at most two forwards;
* on CUDA the device is synchronised before and after every timed forward, so each sample is the
  full kernel time of one batch, not the launch time.

Defaults (``warmup=3, repeats=20, min_time_s=0.5, max_time_s=2.0``): a small student costs at
most about 2 s per batch size (4 s for the default batch sizes 1 and 64) on any device; a slow one
(ResNet-50 at 224 px, batch 64, on 2 CPU cores) gets fewer repeats, reported in
``latency_b{B}_runs``.

CPU numbers depend on the machine and on other load; compare them only within one run of the
harness on one machine (``latency_device`` names it).
"""
from __future__ import annotations

import copy
import platform
import statistics
import time
from typing import Iterable

import torch
from torch import nn

from benchmarks.evals.base import Evaluator, numbered_columns, register_evaluator

__all__ = ['measure_latency', 'device_name']


def _cpu_model_name(cpuinfo: str = '/proc/cpuinfo') -> str:
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, sep, value = line.partition(':')
                if sep and key.strip() == 'model name' and value.strip():
                    return value.strip()
    except OSError:
        pass
    # No /proc (macOS, Windows) or no 'model name' line (many ARM kernels).
    return platform.processor() or platform.machine() or 'unknown CPU'


def device_name(device='cpu') -> str:
    """A readable name of ``device``: the GPU model for CUDA, the processor and torch's intra-op
    thread count for CPU (e.g. ``'AMD EPYC 7B13 (2 threads)'``), ``str(device)`` otherwise."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    if device.type == 'cpu':
        return f'{_cpu_model_name()} ({torch.get_num_threads()} threads)'
    return str(device)


def _resolve(device) -> torch.device:
    device = torch.device(device)
    if device.type == 'cuda' and device.index is None:
        # Parameters report 'cuda:N'; a bare 'cuda' must compare equal to that.
        device = torch.device('cuda', torch.cuda.current_device())
    return device


def _on_device(module: nn.Module, device: torch.device) -> nn.Module:
    tensors = list(module.parameters()) + list(module.buffers())
    if all(t.device == device for t in tensors):
        return module
    # A copy, so that the caller's module keeps its device (and its optimizer's references).
    return copy.deepcopy(module).to(device)


def _time_forwards(model, x, sync, warmup: int, repeats: int, min_time_s: float,
                   max_time_s: float | None) -> list[float]:
    """Seconds of each timed forward of ``model(x)``, following the module's stopping rules."""
    start = time.perf_counter()
    for _ in range(warmup):
        model(x)
        sync()
        if max_time_s is not None and time.perf_counter() - start >= max_time_s / 2:
            break
    times: list[float] = []
    while True:
        sync()
        t0 = time.perf_counter()
        model(x)
        sync()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if len(times) >= repeats and sum(times) >= min_time_s:
            break
        if max_time_s is not None and t1 - start >= max_time_s:
            break
    return times


def measure_latency(backbone: nn.Module, image_size: int, device='cpu',
                    batch_sizes: Iterable[int] = (1, 64), warmup: int = 3, repeats: int = 20,
                    min_time_s: float = 0.5, max_time_s: float | None = 2.0,
                    channels: int = 3) -> dict:
    """Median forward latency per batch size and throughput at the largest one.

    Args:
        backbone: module mapping ``[B, channels, image_size, image_size]`` to features.
        image_size: square input side in pixels (use the evaluation resolution of the suite).
        device: where to time; a backbone living elsewhere is timed on a deep copy moved there.
        batch_sizes: batch sizes to time, in order (duplicates ignored).
        warmup: untimed forwards before timing each batch size.
        repeats: minimum number of timed forwards per batch size.
        min_time_s: minimum summed timed-forward seconds per batch size.
        max_time_s: cap on the seconds spent per batch size, warm-up included (``None``: no cap).
        channels: input channels.

    Returns:
        For every batch size ``B``: ``'latency_b{B}_ms'`` (median of the timed forwards, ms),
        ``'latency_b{B}_min_ms'``, ``'latency_b{B}_max_ms'`` (floats, ms) and
        ``'latency_b{B}_runs'`` (int, timed forwards); for the largest batch size ``Bmax``:
        ``'throughput_b{Bmax}'`` = ``Bmax / median seconds`` (images/s); and
        ``'latency_device'`` (str, see :func:`device_name`).

    The caller's module keeps its device and the ``training`` flag of every submodule.
    """
    sizes = list(dict.fromkeys(int(b) for b in batch_sizes))
    if not sizes or min(sizes) < 1:
        raise ValueError(f'batch_sizes must be a non-empty list of positive ints, got {sizes}')
    if image_size < 1 or channels < 1:
        raise ValueError(f'image_size and channels must be >= 1, got {image_size}, {channels}')
    if warmup < 0 or repeats < 1 or min_time_s < 0 or (max_time_s is not None and max_time_s <= 0):
        raise ValueError(f'need warmup >= 0, repeats >= 1, min_time_s >= 0, max_time_s > 0 or None; '
                         f'got {warmup}, {repeats}, {min_time_s}, {max_time_s}')

    device = _resolve(device)
    model = _on_device(backbone, device)
    floating = [p for p in model.parameters() if p.is_floating_point()]
    dtype = floating[0].dtype if floating else torch.float32
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)

    modes = {m: m.training for m in model.modules()}
    out: dict = {}
    medians: dict[int, float] = {}
    try:
        model.eval()
        gen = torch.Generator().manual_seed(0)   # leaves the global RNG stream alone
        with torch.inference_mode():
            for b in sizes:
                x = torch.randn(b, channels, image_size, image_size, generator=gen)
                x = x.to(device=device, dtype=dtype)
                times = _time_forwards(model, x, sync, warmup, repeats, min_time_s, max_time_s)
                medians[b] = statistics.median(times)
                out[f'latency_b{b}_ms'] = 1000.0 * medians[b]
                out[f'latency_b{b}_min_ms'] = 1000.0 * min(times)
                out[f'latency_b{b}_max_ms'] = 1000.0 * max(times)
                out[f'latency_b{b}_runs'] = len(times)
                del x
    finally:
        for m, training in modes.items():
            m.training = training

    bmax = max(sizes)
    out[f'throughput_b{bmax}'] = bmax / medians[bmax] if medians[bmax] > 0 else float('inf')
    out['latency_device'] = device_name(device)
    return out


@register_evaluator('latency')
class LatencyEvaluator(Evaluator):
    """Median forward time at each of ``batch_sizes`` on the run's device, and throughput."""

    order = 60

    @classmethod
    def check(cls, cfg, evals_cfg):
        sizes = cfg.get('batch_sizes', [1, 64])
        if not sizes or not all(isinstance(b, int) and b > 0 for b in sizes):
            return [f'evals.latency.batch_sizes={sizes!r} must be positive integers.']
        return []

    @classmethod
    def columns(cls, keys):
        return (numbered_columns(keys, r'latency_b(\d+)_ms', 'ms @b{}', fmt='.2f', group='cost', better='min')
                + numbered_columns(keys, r'throughput_b(\d+)', 'img/s @b{}', fmt=',.0f', group='cost', better='max'))

    def caption(self):
        return 'latency: median forward time, batch ' + ' and '.join(str(b) for b in self.cfg.get('batch_sizes', [1, 64]))

    def run(self, ctx):
        return measure_latency(ctx.backbone, ctx.image_size, ctx.device,
                               batch_sizes=tuple(self.cfg.get('batch_sizes', (1, 64))),
                               max_time_s=self.cfg.get('max_time_s', 2.0))
