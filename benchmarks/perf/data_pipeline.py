"""Measurement 2, data pipeline: the share of a training step spent waiting for data.

`compress_2q` trains through `benchmarks.engine.runner.train_method` on (a) the embedded default data
(`benchmarks.data.datasets.EmbeddedDataset`, uint8 images in memory, views made per batch in the collate
function) and (b) the same images written as JPEG files into an ImageFolder
(`benchmarks.data.datasets.ImageFolderDataset`: decode + per-sample torchvision views), for each loader
``num_workers`` setting. mmengine's IterTimerHook records per iteration ``train/data_time`` (from the
end of the previous iteration to the batch being ready) and ``train/time`` (the whole iteration,
data included) in the message hub; the figure is ``sum(data_time) / sum(time)`` over the epochs after
the first (warm-up, worker start-up).

Note: the hooks that run after IterTimerHook in an iteration (logger, progress bar, divergence
check, checkpoint test) land in the *next* iteration's data_time. The harness measurement reports
that floor (``runner_data_ms``: data_time with a loader that costs nothing).

Each run trains on the first ``steps x batch`` images so an epoch is short; per-batch costs do not
depend on the dataset size (the embedded data is in memory, the JPEGs are read from the page cache).
"""
from __future__ import annotations

import gc
import os
import shutil
import time

from benchmarks.perf.common import (PerfSettings, build_teacher, default_budget, figure, measurement, method_cfg, model_shapes,
                     target)

FRACTION_TARGET = 10.0   # percent of step time waiting for data, embedded default data


def _spec(settings: PerfSettings):
    from benchmarks.data.synthetic import SyntheticSpec
    if settings.quick:
        return SyntheticSpec(num_classes=4, train_per_class=16, val_per_class=4, image_size=32)
    return SyntheticSpec()   # the default suite's data: 10 classes x 500, 64 px


def _subset(dataset, n: int):
    """The first ``n`` images of an `EmbeddedDataset` (a clone sharing the arrays)."""
    small = dataset.with_recipes(dataset.recipes)
    small.images, small.labels = dataset.images[:n], dataset.labels[:n]
    return small


def write_jpegs(dataset, n: int, root, quality: int = 90) -> float:
    """Write the first ``n`` images of ``dataset`` as ``root/train/<class>/<i>.jpg``; returns seconds."""
    from torchvision.io import encode_jpeg
    start = time.perf_counter()
    for i in range(n):
        folder = root / 'train' / dataset.classes[int(dataset.labels[i])]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f'{i:06d}.jpg').write_bytes(encode_jpeg(dataset.load(i), quality=quality).numpy().tobytes())
    return time.perf_counter() - start


def _loader_pass(dataset, batch_size: int, steps: int, workers: int) -> float:
    """Seconds per batch of one pass over ``steps`` batches of the loader alone (no model)."""
    from torch.utils.data import DataLoader
    keys = [(1, i) for i in range(steps * batch_size)]
    loader = DataLoader(dataset, batch_size=batch_size, sampler=keys, num_workers=workers,
                        collate_fn=dataset.collate_fn())
    start = time.perf_counter()
    for _ in loader:
        pass
    return (time.perf_counter() - start) / steps


def _train_run(dataset, cfg, shapes, teacher, epochs, steps, workers, settings, tag) -> dict:
    from mmengine.logging import MessageHub

    from benchmarks.engine.runner import train_method
    budget = default_budget(epochs, shapes['batch_size'])
    budget['num_workers'] = workers
    result = train_method('compress_2q', cfg, shapes['student'], teacher, dataset, budget, settings.work_dir / tag,
                          settings.seed, device=settings.device, desc=tag)
    hub = MessageHub.get_current_instance()
    data = [float(t) for t in hub.get_scalar('train/data_time').data[0]][steps:]
    total = [float(t) for t in hub.get_scalar('train/time').data[0]][steps:]
    if len(total) != (epochs - 1) * steps:
        raise RuntimeError(f'{tag}: expected {(epochs - 1) * steps} timed iterations in the message hub\'s '
                           f'train/time, found {len(total)}; train_method no longer records them as this measurement '
                           f'reads them: update benchmarks/perf/data_pipeline.py to the runner\'s new records.')
    del result
    gc.collect()
    return dict(fraction=100.0 * sum(data) / sum(total), step=sum(total) / len(total), data=sum(data) / len(data))


def measure(settings: PerfSettings) -> dict:
    from benchmarks.data.datasets import EmbeddedDataset, ImageFolderDataset
    load_before = os.getloadavg()
    start = time.perf_counter()
    spec = _spec(settings)
    shapes = dict(model_shapes(settings), image_size=spec.image_size)
    bs = shapes['batch_size']
    steps, epochs = (3, 2) if settings.quick else (12, 2)
    n = steps * bs
    cfg = method_cfg('compress_2q', settings.device)
    teacher = build_teacher(shapes['teacher'], settings.seed)
    recipes = ['compress']  # compress_2q's paper recipe (methods/compress.py: augmentation='compress')
    full = EmbeddedDataset('train', spec, recipes, settings.seed)
    if len(full) < n:
        raise RuntimeError(f'the embedded training set has {len(full)} images, fewer than the {steps} batches of {bs} '
                           f'this measurement trains on; enlarge its SyntheticSpec in _spec() or lower the steps.')
    embedded = _subset(full, n)
    jpeg_root = settings.work_dir / 'jpeg_imagefolder'
    shutil.rmtree(jpeg_root, ignore_errors=True)
    jpeg_s = write_jpegs(full, n, jpeg_root)
    folder = ImageFolderDataset(jpeg_root, 'train', recipes, spec.image_size, settings.seed, verify='none')
    if settings.quick:
        worker_sets = dict(embedded=[0], imagefolder=[0])
    elif settings.device == 'cuda':
        worker_sets = dict(embedded=[0, 4], imagefolder=[0, 4])
    else:   # the default budget's 0, one worker beside the 2 compute threads, and 2 for the JPEG folder
        worker_sets = dict(embedded=[0, 1], imagefolder=[0, 2])
    datasets = dict(embedded=embedded, imagefolder=folder)
    values = {}
    for r in range(settings.repeats):
        for kind, ds in datasets.items():
            for w in worker_sets[kind]:
                run = _train_run(ds, cfg, shapes, teacher, epochs, steps, w, settings, f'data-{kind}-w{w}-{r}')
                loader = _loader_pass(ds, bs, steps, w)
                v = values.setdefault((kind, w), dict(fraction=[], step=[], data=[], loader=[]))
                v['fraction'].append(run['fraction'])
                v['step'].append(run['step'] * 1e3)
                v['data'].append(run['data'] * 1e3)
                v['loader'].append(loader * 1e3)
    figures, targets = {}, []
    for (kind, w), v in values.items():
        key = f'{kind}.w{w}'
        figures[f'{key}.data_fraction'] = figure(v['fraction'], '%', f'{kind}, num_workers={w}: time waiting for data')
        figures[f'{key}.step_ms'] = figure(v['step'], 'ms', f'{kind}, num_workers={w}: iteration (data included)')
        figures[f'{key}.data_ms'] = figure(v['data'], 'ms', f'{kind}, num_workers={w}: data_time per iteration')
        figures[f'{key}.loader_ms'] = figure(v['loader'], 'ms', f'{kind}, num_workers={w}: loader alone, per batch')
    default_workers = default_budget(1, bs).get('num_workers', 0)
    key = f'embedded.w{default_workers}.data_fraction'
    if key in figures:
        targets.append(target(f'embedded data, num_workers={default_workers}: data wait share', figures[key], '<=',
                              FRACTION_TARGET, '%'))
    notes = [f'{epochs} epochs x {steps} steps of {bs} images; the first epoch is warm-up and excluded',
             f'{n} JPEGs (quality 90) written in {jpeg_s:.1f} s; read back through the page cache',
             'data_time includes the hooks that run after IterTimerHook in the previous iteration '
             '(see harness: runner_data_ms)']
    run_settings = dict(method='compress_2q', method_cfg=cfg, recipes=recipes, spec=dict(vars(spec)),
                        image_size=spec.image_size, batch_size=bs, student=shapes['student'],
                        teacher=shapes['teacher'], epochs=epochs, steps_per_epoch=steps, num_workers=worker_sets,
                        budget_num_workers=default_workers)
    return measurement('Data pipeline: share of step time waiting for data (compress_2q)', run_settings, figures,
                       targets, notes, time.perf_counter() - start, load_before)
