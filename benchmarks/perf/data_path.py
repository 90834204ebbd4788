"""Measurement 7, data path: images/s per CPU core from a folder of JPEGs to two 224 px views.

For each training recipe (``compress``, ``mocov2``, ``mocov2_strong``; two views per image, as the
two-view methods train) over the same JPEG folder (``images`` files of about 500 x 375, generated here,
quality 90, read from the page cache), one process, one torch thread:

* ``per_sample``: ``data.decode='full'`` -- every file decoded at full size (torchvision.io), then the
  torchvision v2 transforms per view, then ``default_collate``;
* ``crop_loader``: ``data.decode='crop'`` with ``budget.views_on='device'`` -- the work left to the loader
  workers when the views are finished on the training device: each file decoded once at the reduced JPEG
  scale the boxes allow, cropped and resized to 224, the per-sample parameters drawn, the crops stacked
  (`benchmarks.data.crops`, `benchmarks.data.batch_views.CropViewCollate`);
* ``crop_cpu``: the same with the rest of the recipe (flip, colour, grayscale, blur) also on the CPU
  (``budget.views_on='loader'``): what a CPU-only run pays;
* ``dali_loader`` and ``dali_cpu`` (when NVIDIA DALI is installed): ``data.decode='dali'`` with one DALI
  thread. ``dali_loader`` is the loader's part when DALI decodes on the training GPU (read the bytes and
  the header, draw the parameters); ``dali_cpu`` also decodes and crops with DALI's CPU pipeline and
  finishes the views on this core -- what the DALI path costs without a GPU (its GPU decode is measured
  by the ``e2e`` measurement on a device).

Target: ``crop_loader`` >= 3x ``per_sample`` for ``mocov2`` (images/s per core).
"""
from __future__ import annotations

import os
import shutil
import time

from benchmarks.perf.common import PerfSettings, figure, measurement, target

RECIPES = ('compress', 'mocov2', 'mocov2_strong')
PATHS = ('per_sample', 'crop_loader', 'crop_cpu')
DALI_PATHS = ('dali_loader', 'dali_cpu')
SPEEDUP_TARGET = 3.0


def write_jpeg_folder(root, n: int, size=(375, 500), seed: int = 0) -> float:
    """``n`` photo-like JPEGs (smooth colour fields with edges and noise, quality 90) in two classes under
    ``root/train``; returns seconds."""
    import numpy as np
    from PIL import Image
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w] / w
    for i in range(n):
        chans = [128 + 90 * np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y) + rng.uniform(0, 6))
                 for _ in range(3)]
        img = np.stack(chans, -1) + rng.normal(0, 12, (h, w, 3))
        top, left = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[top:top + h // 3, left:left + w // 3] = rng.uniform(0, 255, 3)   # an object with sharp edges
        d = root / 'train' / f'class{i % 2}'
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / f'{i:05d}.jpg', quality=90)
    return time.perf_counter() - start


def _pass(dataset, collate, batch: int) -> float:
    """Seconds for one pass over the dataset in batches (the loader's work, in this process), after one
    untimed batch (DALI builds its pipeline on first use)."""
    n = len(dataset)
    collate([dataset[(0, i)] for i in range(batch)])
    start = time.perf_counter()
    for lo in range(0, n - batch + 1, batch):
        collate([dataset[(1, i)] for i in range(lo, lo + batch)])
    return time.perf_counter() - start


def measure(settings: PerfSettings) -> dict:
    import torch

    from benchmarks.data.dali import dali_installed
    from benchmarks.data.datasets import ImageFolderDataset
    load_before = os.getloadavg()
    start = time.perf_counter()
    n, batch, size = (8, 4, 64) if settings.quick else (128, 32, 224)
    root = settings.work_dir / 'jpeg_data_path'
    shutil.rmtree(root, ignore_errors=True)
    write_s = write_jpeg_folder(root, n, (120, 160) if settings.quick else (375, 500), settings.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)       # per core: one process, one thread (PIL and the decoders are single-threaded)
    paths = PATHS + (DALI_PATHS if dali_installed() else ())
    values = {(r, p): [] for r in RECIPES for p in paths}
    try:
        for _ in range(settings.repeats):
            for recipe in RECIPES:
                full = ImageFolderDataset(root, 'train', [recipe, recipe], size, settings.seed)
                crop = ImageFolderDataset(root, 'train', [recipe, recipe], size, settings.seed, decode='crop')
                runs = dict(per_sample=(full, full.collate_fn()),
                            crop_loader=(crop, crop.collate_fn(views_on_device=True)),
                            crop_cpu=(crop, crop.collate_fn(views_on_device=False)))
                if 'dali_cpu' in paths:
                    from benchmarks.data.dali import DaliViewCollate
                    dali = ImageFolderDataset(root, 'train', [recipe, recipe], size, settings.seed, decode='dali')
                    runs.update(dali_loader=(dali, DaliViewCollate(dali, on_device=True, threads=1)),
                                dali_cpu=(dali, DaliViewCollate(dali, on_device=False, threads=1)))
                for path, (ds, collate) in runs.items():
                    seconds = _pass(ds, collate, batch)
                    values[(recipe, path)].append(n // batch * batch / seconds)
    finally:
        torch.set_num_threads(threads)
    figures, targets = {}, []
    for (recipe, path), v in values.items():
        figures[f'{recipe}.{path}'] = figure(v, 'img/s', f'{recipe}, {path}: JPEG -> two {size} px views, one core')
    for recipe in RECIPES:
        ratio = [c / p for c, p in zip(values[(recipe, 'crop_loader')], values[(recipe, 'per_sample')])]
        figures[f'{recipe}.speedup'] = figure(ratio, 'x', f'{recipe}: crop_loader / per_sample')
        ratio_cpu = [c / p for c, p in zip(values[(recipe, 'crop_cpu')], values[(recipe, 'per_sample')])]
        figures[f'{recipe}.speedup_cpu'] = figure(ratio_cpu, 'x', f'{recipe}: crop_cpu / per_sample')
        for path in ('dali_loader', 'dali_cpu'):
            if (recipe, path) in values:
                ratio = [c / p for c, p in zip(values[(recipe, path)], values[(recipe, 'per_sample')])]
                figures[f'{recipe}.speedup_{path}'] = figure(ratio, 'x', f'{recipe}: {path} / per_sample')
    targets.append(target('mocov2: JPEG -> views per core, crop path (loader part) / torchvision per sample',
                          figures['mocov2.speedup'], '>=', SPEEDUP_TARGET, 'x'))
    notes = [f'{n} JPEGs of {"160 x 120" if settings.quick else "500 x 375"} (quality 90) written in {write_s:.1f} s, '
             f'read from the page cache; batches of {batch}; torch threads 1 during the passes',
             'crop_loader leaves flip, colour jitter, grayscale and blur to the training device (budget.views_on='
             "'device'); crop_cpu does them on this core too",
             ('dali_loader leaves decoding and cropping to DALI on the training GPU; dali_cpu runs DALI\'s CPU '
              'pipeline with one thread' if 'dali_cpu' in paths else 'NVIDIA DALI is not installed: no dali rows')]
    run_settings = dict(images=n, batch_size=batch, image_size=size, recipes=list(RECIPES), views=2, threads=1)
    return measurement('Data path: JPEG folder to views, images/s per core', run_settings, figures, targets, notes,
                       time.perf_counter() - start, load_before)
