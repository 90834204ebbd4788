"""Measurement 4, scaling: step time and peak memory as banks and datasets grow, and the harness's
fixed cost per method.

* `compress_2q` with bank sizes 4k, 16k, 64k, 128k (the official K is 128,000);
* `crd` and `cc` with 1k, 5k, 20k training samples: CRD keeps two ``[N, 128]`` memories, cc an
  ``[N]`` assignment buffer and a ``k = N / 80``-way classifier, and its ``prepare`` runs k-means on
  ``[N, D_t]`` teacher features (random here: `common.prepared_kwargs`; extracting real ones is
  timed by the evaluation measurement). CRD's negatives are fixed at 512 for every N (the default
  suite's 4,096 does not fit 1k samples), so N is the only thing that changes.

Each point runs in a fresh interpreter (``python -m benchmarks.perf.scaling --worker SPEC``); after
its imports the peak-RSS window is restarted (`common.reset_peak_rss`), so the memory figure is the
peak RSS (VmHWM; ``ru_maxrss`` where /proc is missing) above the RSS after imports: model, optimiser
state, banks, activations, the loss's temporaries. On CUDA it is ``torch.cuda.max_memory_allocated``.
Steps are the bare loop of `common.bare_steps` (the harness adds its own, separately measured,
overhead), on the training measurements' shapes: warm-up steps, then R timed windows (median/min/max
over the windows; memory is one value per point).

The fixed cost: `train_method` of 1 epoch x 2 steps on a pre-made batch, in this process, minus its
training wall time (`TrainResult.wall_time_s`): Runner construction, moving the model, hooks'
``before_run``, checkpoint loading checks. A suite of M methods costs about M x fixed + training.
"""
from __future__ import annotations

import gc
import os
import time

from benchmarks.perf.common import (FixedBatchDataset, PerfSettings, bare_steps, build_for_bare_loop, build_teacher, default_budget,
                     figure, measurement, method_cfg, model_shapes, peak_rss_mib, premade_batch, prepared_kwargs,
                     reset_peak_rss, run_worker, sync, worker_main)

BANK_SIZES = (4000, 16000, 64000, 128000)
DATASET_SIZES = (1000, 5000, 20000)
CRD_NEGATIVES = 512


def point(spec: dict) -> dict:
    """One measurement point, in the worker process (see module doc). ``spec``: method, overrides,
    num_samples, device, quick, seed, warmup, windows, window_steps, threads, load_faiss."""
    import torch

    import benchmarks.config  # noqa: F401  (everything a point uses, imported before the baseline is read)
    import benchmarks.engine.runner  # noqa: F401
    import benchmarks.teachers.teacher  # noqa: F401
    import methods  # noqa: F401
    if spec.get('threads'):
        torch.set_num_threads(int(spec['threads']))
    base = reset_peak_rss()
    if spec.get('load_faiss'):
        # what a benchmark process looks like after its first kNN/k-means: faiss's own OpenMP pool started
        import faiss
        import numpy as np
        index = faiss.IndexFlatIP(64)
        index.add(np.random.default_rng(0).random((4096, 64), dtype=np.float32))
        index.search(np.random.default_rng(1).random((256, 64), dtype=np.float32), 10)
    device = spec['device']
    settings = PerfSettings(device=device, quick=spec['quick'], seed=spec['seed'])
    shapes = model_shapes(settings)
    teacher = build_teacher(shapes['teacher'], settings.seed)
    name = spec['method']
    cfg = method_cfg(name, device, **spec.get('overrides', {}))
    start = time.perf_counter()
    prepared = prepared_kwargs(name, cfg, spec['num_samples'], teacher, settings.seed)
    prepare_s = time.perf_counter() - start
    budget = default_budget(1, shapes['batch_size'])
    if device == 'cuda':
        torch.backends.cudnn.benchmark = True   # as train_method runs on GPU
        torch.cuda.reset_peak_memory_stats()
    method, opt = build_for_bare_loop(name, cfg, shapes, teacher, device, prepared, budget, settings.seed)
    batch = premade_batch(shapes['batch_size'], shapes['image_size'], seed=settings.seed)
    built = peak_rss_mib()
    bare_steps(method, batch, opt, spec['warmup'], device)
    windows = []
    for _ in range(spec['windows']):
        sync(device)
        t = time.perf_counter()
        bare_steps(method, batch, opt, spec['window_steps'], device, sync_each=False)
        sync(device)
        windows.append((time.perf_counter() - t) / spec['window_steps'] * 1e3)
    out = dict(step_ms=windows, rss_base_mib=base, rss_built_mib=built, rss_peak_mib=peak_rss_mib(),
               prepare_s=prepare_s, threads=torch.get_num_threads())
    out['peak_mib'] = out['rss_peak_mib'] - base
    if device == 'cuda':
        out['peak_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def _fixed_cost(name, settings, shapes, teacher, batch, tag) -> tuple[float, float]:
    from benchmarks.engine.runner import train_method
    cfg = method_cfg(name, settings.device, **({'num_negatives': CRD_NEGATIVES} if name == 'crd' else {}))
    prepared = prepared_kwargs(name, cfg, 1000, teacher, settings.seed)
    data = FixedBatchDataset(batch, 2 * shapes['batch_size'])
    start = time.perf_counter()
    result = train_method(name, cfg, shapes['student'], teacher, data, default_budget(1, shapes['batch_size']),
                          settings.work_dir / tag, settings.seed, device=settings.device, desc=tag, prepared=prepared)
    outer = time.perf_counter() - start
    fixed = outer - result.wall_time_s
    del result
    gc.collect()
    return fixed, outer


def measure(settings: PerfSettings) -> dict:
    load_before = os.getloadavg()
    begin = time.perf_counter()
    quick = settings.quick
    # quick: one point per method (each point is a fresh interpreter, ~3 s of imports)
    banks = (256,) if quick else BANK_SIZES
    sizes = (200,) if quick else DATASET_SIZES
    negatives = 64 if quick else CRD_NEGATIVES
    common = dict(device=settings.device, quick=quick, seed=settings.seed, warmup=1 if quick else 3,
                  windows=settings.repeats, window_steps=2 if quick else 5, threads=settings.threads)
    points = [('compress_2q', 'bank', k, dict(bank_size=k), 2 * max(banks)) for k in banks]
    points += [('crd', 'samples', n, dict(num_negatives=negatives), n) for n in sizes]
    points += [('cc', 'samples', n, {}, n) for n in sizes]
    figures, results = {}, {}
    for name, axis, x, overrides, n in points:
        res = run_worker('benchmarks.perf.scaling', dict(common, method=name, overrides=overrides, num_samples=n))
        results[f'{name}.{axis}{x}'] = res
        key = f'{name}.{axis}{x}'
        what = f'{name}, {"bank" if axis == "bank" else "N"}={x}'
        figures[f'{key}.step_ms'] = figure(res['step_ms'], 'ms', f'{what}: step')
        figures[f'{key}.peak_mib'] = figure([res['peak_mib']], 'MiB', f'{what}: peak memory above imports'
                                            + (' (CUDA allocated)' if settings.device == 'cuda' else ' (RSS)'))
        if name in ('cc', 'crd'):
            figures[f'{key}.prepare_s'] = figure([res['prepare_s']], 's', f'{what}: prepare (cc: k-means)')
    shapes = model_shapes(settings)
    teacher = build_teacher(shapes['teacher'], settings.seed)
    batch = premade_batch(shapes['batch_size'], shapes['image_size'], seed=settings.seed)
    for name in ('compress_2q', 'crd', 'cc'):
        fixed, total = [], []
        for r in range(settings.repeats):
            f, t = _fixed_cost(name, settings, shapes, teacher, batch, f'fixed-{name}-{r}')
            fixed.append(f)
            total.append(t)
        figures[f'fixed.{name}.fixed_s'] = figure(fixed, 's', f'{name}: harness fixed cost (construction + teardown)')
        figures[f'fixed.{name}.run_s'] = figure(total, 's', f'{name}: whole train_method, 1 epoch x 2 steps')
    notes = ['memory: one fresh subprocess per point, peak RSS minus the RSS after imports '
             '(one value per point; step times: median over R windows)',
             f'crd negatives fixed at {negatives} for every N; compress_2q uses the default suite\'s other settings',
             'fixed cost = train_method wall time - its training wall time; cost of M methods ~= M x fixed + training']
    run_settings = dict(banks=list(banks), dataset_sizes=list(sizes), crd_negatives=negatives,
                        image_size=shapes['image_size'], batch_size=shapes['batch_size'], student=shapes['student'],
                        teacher=shapes['teacher'], warmup_steps=common['warmup'], window_steps=common['window_steps'],
                        windows=settings.repeats, workers=results)
    return measurement('Scaling: bank and dataset size, fixed harness cost', run_settings, figures, [], notes,
                       time.perf_counter() - begin, load_before)


if __name__ == '__main__':
    worker_main(point)
