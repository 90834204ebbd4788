"""Measurement 8, end to end: training images/s of ``compress_2q`` from a JPEG folder, through the
harness, next to a bare PyTorch loop on the same device, batches and precision, in one run.

Data: ``images`` generated JPEGs of about 500 x 375 (`benchmarks.perf.data_path.write_jpeg_folder`),
``data.decode='crop'`` (decoded into the crops in ``num_workers`` loader workers) and
``budget.views_on='device'`` (the rest of the ``compress`` recipe on the training device); then, when NVIDIA
DALI is installed, the same with ``data.decode='dali'`` (the workers read bytes and draw parameters, DALI
decodes and crops on the training device: figures prefixed ``dali_``). Networks:
ResNet-50 teacher (random weights) -> ResNet-18 student at 224 px, batch 256, bf16 autocast and
channels-last on CUDA (fp32 on the CPU, where this runs only with ``--quick``, tiny networks).

* ``harness``: `benchmarks.engine.runner.train_method` (mmengine Runner, hooks, AmpOptimWrapper);
* ``bare``: the same method built the same way, the same loader (`EpochIndexSampler`, same seed, so
  the same batches in the same order, same workers), and a plain loop: preprocess -> loss ->
  backward -> SGD step under ``torch.autocast``.

Both train ``epochs`` epochs of ``steps`` steps; the first epoch is warm-up (worker start, cuDNN
autotuning) and excluded. Figures: images/s of each, their step-time ratio (target <= 1.05) and, on
CUDA, the GPU utilisation sampled every 0.5 s over the timed window (``torch.cuda.utilization``, which
needs the ``pynvml`` package; absent, the figure is left out and a note says so). Opt-in
(``--only e2e``): on a GPU it takes a few minutes.
"""
from __future__ import annotations

import gc
import os
import shutil
import threading
import time

from benchmarks.perf.common import PerfSettings, build_teacher, figure, measurement, method_cfg, sync, target

RATIO_TARGET = 1.05


class _Utilisation:
    """GPU utilisation (%) sampled in a thread while the ``with`` block runs (CUDA and pynvml only)."""

    def __init__(self, device: str):
        self.samples, self.device, self._stop = [], device, threading.Event()
        self.available = False
        if device == 'cuda':
            import torch
            try:
                torch.cuda.utilization()
                self.available = True
            except Exception:  # noqa: BLE001 -- ModuleNotFoundError (no pynvml) or an NVML error
                self.available = False

    def __enter__(self):
        if self.available:
            import torch

            def loop():
                while not self._stop.wait(0.5):
                    self.samples.append(float(torch.cuda.utilization()))
            self._thread = threading.Thread(target=loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.available:
            self._thread.join()


def _setup(settings: PerfSettings):
    cuda = settings.device == 'cuda' and not settings.quick
    shapes = dict(image_size=224 if cuda else 64, batch_size=256 if cuda else 8,
                  student=dict(arch='resnet18', width=1.0 if cuda else 0.125, small_input=False),
                  teacher=dict(arch='resnet50' if cuda else 'resnet18', width=1.0 if cuda else 0.125,
                               small_input=False))
    steps, epochs = (20, 2) if cuda else (3, 2)
    workers = min(8, os.cpu_count() or 1) if settings.device == 'cuda' else 0
    amp = 'bf16' if settings.device == 'cuda' else None
    return shapes, steps, epochs, workers, amp


def _budget(epochs, bs, workers, amp, channels_last):
    return dict(epochs=epochs, batch_size=bs, optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
                schedule=dict(type='cosine', warmup_epochs=0), num_workers=workers, log_interval=10 ** 6,
                checkpoint_interval=10 ** 6, amp=amp, channels_last=channels_last, views_on='device')


def _harness(dataset, cfg, shapes, teacher, budget, steps, settings, tag):
    from mmengine.logging import MessageHub

    from benchmarks.engine.runner import train_method
    with _Utilisation(settings.device) as util:
        result = train_method('compress_2q', cfg, shapes['student'], teacher, dataset, budget, settings.work_dir / tag,
                              settings.seed, device=settings.device, desc=tag)
    hub = MessageHub.get_current_instance()
    iters = [float(t) for t in hub.get_scalar('train/time').data[0]][-(budget['epochs'] - 1) * steps:]
    del result
    gc.collect()
    return dict(step=sum(iters) / len(iters), util=util.samples)


def _bare(dataset, cfg, shapes, teacher, budget, steps, settings):
    import torch
    from torch.utils.data import DataLoader

    from benchmarks.data.datasets import EpochIndexSampler
    from benchmarks.engine.runner import build_method, resolve_device, views_on_device
    dev = resolve_device(settings.device)
    cl = bool(budget['channels_last'])
    teacher.to(dev)
    if cl:
        teacher.to(memory_format=torch.channels_last)
    torch.manual_seed(settings.seed)
    method = build_method('compress_2q', cfg, shapes['student'], teacher, channels_last=cl).to(dev)
    if cl:
        method.to(memory_format=torch.channels_last)
    method.train()
    opt_cfg = {k: v for k, v in budget['optimizer'].items() if k != 'type'}
    optimizer = torch.optim.SGD(method.trainable_parameters(), **opt_cfg)
    bs = budget['batch_size']
    sampler = EpochIndexSampler(dataset, shuffle=True, seed=settings.seed, batch_size=bs)
    loader = DataLoader(dataset, batch_size=bs, sampler=sampler, num_workers=budget['num_workers'],
                        persistent_workers=budget['num_workers'] > 0, drop_last=True,
                        collate_fn=dataset.collate_fn(views_on_device=views_on_device(budget, dev)))
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(budget['amp'])
    times = []
    with _Utilisation(settings.device) as util:
        for epoch in range(budget['epochs']):
            sampler.set_epoch(epoch)
            sync(dev)
            start = time.perf_counter()
            for batch in loader:
                with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                    data = method.data_preprocessor(batch, True)
                    losses = method(*data, mode='loss')
                    loss = sum(v for k, v in losses.items() if 'loss' in k)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            sync(dev)
            times.append(time.perf_counter() - start)
            if epoch == 0:
                util.samples.clear()       # warm-up epoch
    del method, optimizer, loader
    gc.collect()
    return dict(step=sum(times[1:]) / ((budget['epochs'] - 1) * steps), util=util.samples)


def _compare(dataset, cfg, shapes, teacher, budget, steps, settings, tag) -> dict:
    """Harness and bare loop on ``dataset``, ``settings.repeats`` times: images/s, step ratio, utilisation."""
    bs = budget['batch_size']
    values = dict(harness=[], bare=[], ratio=[], util_harness=[], util_bare=[])
    for r in range(settings.repeats):
        runs = [('harness', lambda: _harness(dataset, cfg, shapes, teacher, budget, steps, settings, f'{tag}-{r}')),
                ('bare', lambda: _bare(dataset, cfg, shapes, teacher, budget, steps, settings))]
        out = {k: f() for k, f in (runs if r % 2 == 0 else runs[::-1])}   # alternate who runs first
        values['harness'].append(bs / out['harness']['step'])
        values['bare'].append(bs / out['bare']['step'])
        values['ratio'].append(out['harness']['step'] / out['bare']['step'])
        for k in ('harness', 'bare'):
            if out[k]['util']:
                values[f'util_{k}'].append(sum(out[k]['util']) / len(out[k]['util']))
    return values


def measure(settings: PerfSettings) -> dict:
    import torch

    from benchmarks.data.dali import dali_installed
    from benchmarks.data.datasets import ImageFolderDataset
    from benchmarks.perf.data_path import write_jpeg_folder
    load_before = os.getloadavg()
    start = time.perf_counter()
    shapes, steps, epochs, workers, amp = _setup(settings)
    bs, size = shapes['batch_size'], shapes['image_size']
    channels_last = settings.device == 'cuda'
    if settings.device == 'cuda':
        torch.backends.cudnn.benchmark = True     # what train_method's env_cfg sets
    root = settings.work_dir / 'jpeg_e2e'
    shutil.rmtree(root, ignore_errors=True)
    n = steps * bs
    write_s = write_jpeg_folder(root, n, (120, 160) if size < 224 else (375, 500), settings.seed)
    decodes = ['crop'] + (['dali'] if dali_installed() else [])
    cfg = method_cfg('compress_2q', settings.device, bank_size=min(16384, n))
    teacher = build_teacher(shapes['teacher'], settings.seed)
    budget = _budget(epochs, bs, workers, amp, channels_last)
    figures = {}
    for decode in decodes:
        dataset = ImageFolderDataset(root, 'train', ['compress'], size, settings.seed, decode=decode)
        values = _compare(dataset, cfg, shapes, teacher, budget, steps, settings, f'e2e-{decode}')
        pre = '' if decode == 'crop' else f'{decode}_'   # the crop decode keeps the figures' first names
        figures.update({
            f'{pre}harness_img_s': figure(values['harness'], 'img/s', f'harness: training images/s (JPEG folder, '
                                          f'{decode} decode, views on device)'),
            f'{pre}bare_img_s': figure(values['bare'], 'img/s', f'bare PyTorch loop, same batches and precision '
                                       f'({decode} decode): images/s'),
            f'{pre}ratio': figure(values['ratio'], 'x', f'harness / bare step time ({decode} decode)'),
        })
        for k in ('harness', 'bare'):
            if values[f'util_{k}']:
                figures[f'{pre}gpu_util_{k}'] = figure(values[f'util_{k}'], '%', f'{k} ({decode} decode): mean GPU '
                                                       f'utilisation (0.5 s samples)')
    targets = [target('compress_2q end to end: harness / bare step time', figures['ratio'], '<=', RATIO_TARGET, 'x')]
    notes = [f'{n} JPEGs written in {write_s:.1f} s; {epochs} epochs x {steps} steps of {bs}, the first epoch excluded; '
             f'{workers} loader workers; precision {amp or "fp32"}, channels_last {channels_last}',
             f'student {shapes["student"]}, teacher {shapes["teacher"]} (random weights), {size} px']
    if 'dali' not in decodes:
        notes.append('NVIDIA DALI is not installed: the data.decode=dali rows are left out')
    if settings.device == 'cuda' and not any(k.startswith(('gpu_util', 'dali_gpu_util')) for k in figures):
        notes.append('GPU utilisation not sampled: torch.cuda.utilization needs the pynvml package (pip install '
                     'nvidia-ml-py)')
    run_settings = dict(method='compress_2q', method_cfg=cfg, batch_size=bs, image_size=size, steps=steps,
                        epochs=epochs, num_workers=workers, amp=amp, channels_last=channels_last,
                        student=shapes['student'], teacher=shapes['teacher'], decode=decodes, views_on='device')
    return measurement('End to end: compress_2q from JPEGs, harness vs bare loop', run_settings, figures, targets,
                       notes, time.perf_counter() - start, load_before)
