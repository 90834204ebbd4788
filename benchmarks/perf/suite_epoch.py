"""Measurement 6, suite epoch: training images/s of the ``cifar100_resnet18`` suite at its real size.

The suite's data path end to end: CIFAR-100 files in their native format (python pickle batches,
50,000 random 32 px training images, generated here: no download) read by `benchmarks.data.sources`,
batched ``compress`` views, the suite's ResNet-18 CIFAR-stem student, its ResNet-50 CIFAR-stem teacher
(random weights: a step costs the same whatever the weights), its batch (512) and its
``compress_2q`` hyperparameters, through `benchmarks.engine.runner.train_method`.

On a GPU (``--device cuda``) it trains the whole 50,000-image epoch; on the CPU the first ``steps``
batches of it (an epoch takes over an hour on 2 cores), and the epoch's wall time is the measured
rate extrapolated to 50,000 images. The first iteration (warm-up, allocator) is excluded from the rate.
"""
from __future__ import annotations

import gc
import os
import pickle
import time

from benchmarks.perf.common import PerfSettings, build_teacher, figure, measurement

SUITE = 'cifar100_resnet18'
METHOD = 'compress_2q'
TRAIN_IMAGES = 50_000


def write_cifar100(root, n_train: int, n_test: int, seed: int = 0) -> float:
    """Random images in the layout of ``cifar-100-python.tar.gz`` under ``root``; returns seconds."""
    import numpy as np
    start = time.perf_counter()
    folder = root / 'cifar-100-python'
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, n in (('train', n_train), ('test', n_test)):
        labels = rng.integers(0, 100, n)
        batch = {b'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8), b'fine_labels': labels.tolist(),
                 b'coarse_labels': (labels // 5).tolist(), b'filenames': [b'%d.png' % i for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    (folder / 'meta').write_bytes(pickle.dumps({b'fine_label_names': [b'class_%d' % i for i in range(100)],
                                                b'coarse_label_names': [b'super_%d' % i for i in range(20)]},
                                               protocol=2))
    return time.perf_counter() - start


def measure(settings: PerfSettings) -> dict:
    from mmengine.logging import MessageHub

    from benchmarks.config import resolve
    from benchmarks.data.sources import build_datasets
    from benchmarks.engine.runner import train_method
    load_before = os.getloadavg()
    start = time.perf_counter()
    root = settings.work_dir / 'cifar100_native'
    cfg = resolve(SUITE, methods=[METHOD], data_root=root)
    bs = 16 if settings.quick else cfg.budget.batch_size
    if settings.quick:
        steps = 3
    elif settings.device == 'cuda':
        steps = TRAIN_IMAGES // bs
    else:
        steps = 8
    write_s = write_cifar100(root, TRAIN_IMAGES if not settings.quick else steps * bs, 100 if settings.quick else 10_000,
                             settings.seed)
    t = time.perf_counter()
    train = build_datasets(cfg.data.to_dict(), ['center'], settings.seed).train
    read_s = time.perf_counter() - t
    student, teacher_arch = cfg.student.to_dict(), cfg.teacher.arch.to_dict()
    if settings.quick:  # same data path, models small enough for a test
        student, teacher_arch = dict(student, width=0.125), dict(teacher_arch, arch='resnet18', width=0.125)
    n = steps * bs
    subset = train.with_recipes(['compress'])
    subset.images, subset.labels = train.images[:n], train.labels[:n]
    budget = dict(cfg.budget.to_dict(), epochs=1, batch_size=bs, checkpoint_interval=1000,
                  num_workers=cfg.budget.num_workers if settings.device == 'cuda' else 0)
    method = {k: v for k, v in cfg.method_cfgs[METHOD].to_dict().items()}
    method['bank_size'] = min(method['bank_size'], n)
    teacher = build_teacher(teacher_arch, settings.seed)
    values = dict(img_s=[], step_ms=[], data_ms=[])
    for r in range(settings.repeats):
        train_method(METHOD, method, student, teacher, subset, budget, settings.work_dir / f'suite-epoch-{r}',
                     settings.seed, device=settings.device, desc=f'{SUITE} {METHOD}')
        # runners started within the same second share a message hub (its name has a 1 s timestamp): this
        # run's iterations are the last `steps` records
        hub = MessageHub.get_current_instance()
        total = [float(x) for x in hub.get_scalar('train/time').data[0]]
        data = [float(x) for x in hub.get_scalar('train/data_time').data[0]]
        if len(total) < steps or len(total) % steps:
            raise RuntimeError(f'expected {steps} timed iterations per run in the message hub, found {len(total)}; '
                               f'update benchmarks/perf/suite_epoch.py to the runner\'s records.')
        total, data = total[-steps + 1:], data[-steps + 1:]
        values['img_s'].append(bs * len(total) / sum(total))
        values['step_ms'].append(1e3 * sum(total) / len(total))
        values['data_ms'].append(1e3 * sum(data) / len(data))
        gc.collect()
    figures = dict(
        images_per_s=figure(values['img_s'], 'img/s', f'{SUITE} {METHOD}: training images per second'),
        step_ms=figure(values['step_ms'], 'ms', f'iteration of {bs} images (data included)'),
        data_ms=figure(values['data_ms'], 'ms', 'data_time per iteration'),
        epoch_s=figure([TRAIN_IMAGES / v for v in values['img_s']], 's',
                       f'one {TRAIN_IMAGES:,}-image epoch' + ('' if steps * bs >= TRAIN_IMAGES else
                                                              f' (extrapolated from {steps} steps)')),
    )
    notes = [f'{steps} steps of {bs} images per repeat, the first excluded; CIFAR-100 pickles written in {write_s:.1f} s, '
             f'read and checked in {read_s:.1f} s',
             f'student {student}, teacher {teacher_arch} (random weights), num_workers {budget["num_workers"]}']
    run_settings = dict(suite=SUITE, method=METHOD, method_cfg=method, batch_size=bs, steps=steps, student=student,
                        teacher=teacher_arch, image_size=cfg.data.image_size, num_workers=budget['num_workers'])
    return measurement(f'Suite epoch: {SUITE} {METHOD} on native CIFAR-100 files', run_settings, figures, [], notes,
                       time.perf_counter() - start, load_before)
