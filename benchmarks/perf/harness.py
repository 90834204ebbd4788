"""Measurement 1, harness overhead: a training step through `benchmarks.engine.runner.train_method`
(mmengine Runner + our hooks) against a bare PyTorch loop doing the same step on the same batch.

Both sides train the same method (built with `benchmarks.engine.runner.build_method`, the default budget's
SGD) on one pre-made uint8 batch: the runner gets it from `FixedBatchDataset`, whose collate
function returns it, so data loading costs (almost) nothing and what differs is the harness: the
Runner's loop, hooks (timer, logger, progress with its divergence flag, checkpoint every epoch,
parameter scheduler) and the message hub. Per repeat the runner trains ``epochs`` epochs of ``steps``
iterations; the first epoch is warm-up and excluded. The bare loop runs ``steps`` warm-up steps and
then as many timed steps as the runner's timed epochs hold.

Figures per method (median/min/max over R repeats, runner and bare interleaved, their order
alternating between repeats so that drift of a shared machine hits both sides alike):

* ``runner_step_ms``: wall time of the timed epochs (`TrainResult.epoch_times`, which include the
  per-epoch checkpoint) / their steps; ``bare_step_ms``: the bare window / its steps;
* ``ratio``: runner_step_ms / bare_step_ms of the same repeat (target <= 1.05);
* ``runner_iter_ms`` / ``bare_iter_ms``: median single iteration (mmengine IterTimerHook's
  ``train/time``; on CUDA the bare per-iteration times are host times, so only the windows count);
* ``runner_data_ms``: median ``train/data_time`` with this free loader: the hooks that run after
  IterTimerHook (logger, progress, checkpoint test) plus the loader's own iteration;
* ``epoch_extra_ms``: epoch wall time minus the iterations in it (checkpoint save, epoch hooks);
* ``fixed_s``: `train_method`'s wall time minus its training wall time (Runner construction, model
  build and move, hooks' before_run; see also the scaling measurement).
"""
from __future__ import annotations

import gc
import os
import statistics
import time

from benchmarks.perf.common import (FixedBatchDataset, PerfSettings, bare_steps, build_for_bare_loop, build_teacher, default_budget,
                     figure, measurement, method_cfg, model_shapes, premade_batch, prepared_kwargs, sync, target)

METHODS = ('compress_2q', 'seed', 'crd')
RATIO_TARGET = 1.05


def _crd_samples(settings: PerfSettings) -> int:
    # CRD's memories are one row per training image: the default data (5,000) on CPU, ImageNet on GPU
    return 1_281_167 if settings.device == 'cuda' and not settings.quick else 5000


def _runner_run(name, cfg, shapes, teacher, batch, prepared, epochs, steps, settings, tag):
    """One train_method run on the pre-made batch -> per-repeat numbers (seconds)."""
    from mmengine.logging import MessageHub

    from benchmarks.engine.runner import train_method
    bs = shapes['batch_size']
    data = FixedBatchDataset(batch, steps * bs)
    budget = default_budget(epochs, bs)
    start = time.perf_counter()
    result = train_method(name, cfg, shapes['student'], teacher, data, budget, settings.work_dir / tag,
                          settings.seed, device=settings.device, desc=tag, prepared=prepared)
    outer = time.perf_counter() - start
    hub = MessageHub.get_current_instance()
    iters = [float(t) for t in hub.get_scalar('train/time').data[0]]
    if len(iters) != epochs * steps or len(result.epoch_times) != epochs:
        raise RuntimeError(f'{tag}: expected {epochs} epochs of {steps} iterations, but the runner recorded '
                           f'{len(result.epoch_times)} epoch times (TrainResult.epoch_times) and {len(iters)} '
                           f'iteration times (message hub train/time); train_method no longer records them as this '
                           f'measurement reads them: update benchmarks/perf/harness.py to the runner\'s new records.')
    timed = result.epoch_times[1:]
    extra = [result.epoch_times[e] - sum(iters[e * steps:(e + 1) * steps]) for e in range(1, epochs)]
    data = [float(t) for t in hub.get_scalar('train/data_time').data[0]]
    out = dict(step=sum(timed) / ((epochs - 1) * steps), iter=statistics.median(iters[steps:]),
               data=statistics.median(data[steps:]),
               extra=statistics.mean(extra), fixed=outer - result.wall_time_s)
    del result
    gc.collect()
    return out


def _bare_run(name, cfg, shapes, teacher, batch, prepared, budget, epochs, steps, settings):
    method, opt = build_for_bare_loop(name, cfg, shapes, teacher, settings.device, prepared, budget, settings.seed)
    bare_steps(method, batch, opt, steps, settings.device)           # warm-up, as the runner's first epoch
    timed = (epochs - 1) * steps
    sync(settings.device)
    start = time.perf_counter()
    per_step = bare_steps(method, batch, opt, timed, settings.device, sync_each=settings.device != 'cuda')
    sync(settings.device)
    window = time.perf_counter() - start
    del method, opt
    gc.collect()
    return dict(step=window / timed, iter=statistics.median(per_step))


def measure(settings: PerfSettings) -> dict:
    import torch
    load_before = os.getloadavg()
    start = time.perf_counter()
    shapes = model_shapes(settings)
    if settings.device == 'cuda':
        torch.backends.cudnn.benchmark = True   # what train_method's env_cfg sets; the bare loop gets it too
    epochs, steps = (2, 3) if settings.quick else (3, 20)
    teacher = build_teacher(shapes['teacher'], settings.seed)
    batch = premade_batch(shapes['batch_size'], shapes['image_size'], seed=settings.seed)
    budget = default_budget(epochs, shapes['batch_size'])
    crd_n = _crd_samples(settings)
    rows = {m: {k: [] for k in ('runner_step', 'bare_step', 'ratio', 'runner_iter', 'bare_iter', 'runner_data', 'extra',
                                'fixed')}
            for m in METHODS}
    cfgs = {m: method_cfg(m, settings.device) for m in METHODS}
    if cfgs['crd'].get('num_negatives', 16384) >= crd_n:   # quick runs on CUDA: official K, small memory
        cfgs['crd']['num_negatives'] = crd_n // 2
    prepared = {m: prepared_kwargs(m, cfgs[m], crd_n, teacher, settings.seed) for m in METHODS}
    for r in range(settings.repeats):
        for name in METHODS:
            def runner():
                return _runner_run(name, cfgs[name], shapes, teacher, batch, prepared[name], epochs, steps,
                                   settings, f'harness-{name}-{r}')

            def bare():
                return _bare_run(name, cfgs[name], shapes, teacher, batch, prepared[name], budget, epochs, steps,
                                 settings)

            if r % 2 == 0:
                run, plain = runner(), bare()
            else:
                plain, run = bare(), runner()
            row = rows[name]
            row['runner_step'].append(run['step'] * 1e3)
            row['bare_step'].append(plain['step'] * 1e3)
            row['ratio'].append(run['step'] / plain['step'])
            row['runner_iter'].append(run['iter'] * 1e3)
            row['bare_iter'].append(plain['iter'] * 1e3)
            row['runner_data'].append(run['data'] * 1e3)
            row['extra'].append(run['extra'] * 1e3)
            row['fixed'].append(run['fixed'])
    figures, targets = {}, []
    labels = dict(runner_step=('runner step (timed epochs / steps)', 'ms'),
                  bare_step=('bare PyTorch step (window / steps)', 'ms'),
                  ratio=('runner / bare step time', 'x'),
                  runner_iter=('runner median iteration (IterTimerHook)', 'ms'),
                  bare_iter=('bare median iteration'
                             + (' (host time, CUDA async)' if settings.device == 'cuda' else ''), 'ms'),
                  runner_data=('runner median data_time (free loader: hooks after the timer)', 'ms'),
                  extra=('per-epoch extra: checkpoint + epoch hooks', 'ms'),
                  fixed=('train_method fixed cost (construction etc.)', 's'))
    for name in METHODS:
        for key, (label, unit) in labels.items():
            figures[f'{name}.{key}'] = figure(rows[name][key], unit, f'{name}: {label}')
        targets.append(target(f'{name} runner/bare step time', figures[f'{name}.ratio'], '<=', RATIO_TARGET, 'x'))
    notes = [f'{epochs} epochs x {steps} steps per runner run, first epoch excluded (warm-up); the bare loop runs '
             f'{steps} warm-up steps then {(epochs - 1) * steps} timed steps',
             f'the default suite trains 78 steps per epoch: the per-epoch extra is spread over {steps} steps here, '
             f'so the ratio at the suite\'s epoch length is lower by about (epoch_extra_ms / bare_step_ms) '
             f'x (1/{steps} - 1/78)',
             f'crd memories sized for {crd_n} training images']
    run_settings = dict(methods=list(METHODS), image_size=shapes['image_size'], batch_size=shapes['batch_size'],
                        student=shapes['student'], teacher=dict(shapes['teacher'], head='mlp d-d-128, random, frozen'),
                        epochs=epochs, steps_per_epoch=steps, warmup='first epoch', method_cfgs=cfgs,
                        crd_num_samples=crd_n, torch_threads=torch.get_num_threads(), budget=budget)
    return measurement('Harness overhead: mmengine Runner + hooks vs a bare PyTorch loop', run_settings, figures,
                       targets, notes, time.perf_counter() - start, load_before)
