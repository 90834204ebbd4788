"""The suite's teacher: loaded from ``teacher.checkpoint`` or trained once with MoCo v2 and cached.

The cache key hashes everything that determines the trained teacher (data section, teacher
architecture and training recipe, seed, image size, and `benchmarks.code_version` of the code that
trains it), so a later run with the same settings and code reuses it and any change trains a new one. Cached teachers live in ``$SSLCB_CACHE/teachers/<key>/``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path

from benchmarks.cachefill import locked
from benchmarks.data.datasets import data_identity
from benchmarks.engine.distributed import barrier, broadcast_object, dist_info
from benchmarks.engine.runner import train_method
from benchmarks.data.synthetic import default_cache_dir
from benchmarks.teachers.teacher import Teacher, load_teacher, save_teacher


# how often the teacher's training logs and checkpoints does not change its weights (resume is exact)
NOT_SHAPING = ('log_interval', 'checkpoint_interval')


def _shaping(train: dict) -> dict:
    return {k: v for k, v in train.items() if k not in NOT_SHAPING}


def teacher_key(cfg) -> str:
    from methods import get_method

    from benchmarks.code_version import code_version, method_sources
    code = code_version(method_sources(get_method(cfg.teacher.train.method)))
    blob = json.dumps(dict(data=data_identity(cfg.data.to_dict()), arch=cfg.teacher.arch.to_dict(),
                           train=_shaping(cfg.teacher.train.to_dict()), seed=cfg.seed, code=code), sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def load_checkpoint_teacher(cfg) -> Teacher:
    """The ``teacher.checkpoint`` file, through its layout spec (detected, or ``teacher.spec``), its
    architecture (read from the weights, or ``teacher.checkpoint_arch``) and ``teacher.allow_globals``."""
    t = cfg.teacher
    arch = t.get('checkpoint_arch') or {}
    return load_teacher(t.checkpoint, arch=dict(arch) if arch.get('arch') else None, spec=t.get('spec') or None,
                        allow_globals=tuple(t.get('allow_globals') or ()))


def obtain_teacher(cfg, train_set, log=print, cache_dir=None, loaded: Teacher | None = None) -> tuple[Teacher, float]:
    """(teacher, seconds spent training it in this call: 0 when loaded from a file or the cache).
    ``loaded``: the checkpoint teacher already loaded (and checked) before the run started."""
    if cfg.teacher.checkpoint:
        return (loaded if loaded is not None else load_checkpoint_teacher(cfg)), 0.0
    folder = Path(cache_dir or default_cache_dir()) / 'teachers' / teacher_key(cfg)
    path = folder / 'teacher.pth'
    # rank 0's view of the cache decides for every rank (another run may finish the file in between)
    if broadcast_object(path.is_file()):
        log(f'teacher: reusing cached MoCo v2 teacher {path}')
        return load_teacher(path), 0.0
    info = dist_info()
    # One training per key at a time: another run (or user) training the same teacher holds the lock and
    # this one waits for its result. The ranks of one torchrun train together, so only rank 0 locks.
    with (locked(folder, log, 'this teacher (another run is training it)') if info.is_main
          else contextlib.nullcontext()):
        barrier()
        if broadcast_object(path.is_file()):
            log(f'teacher: reusing cached MoCo v2 teacher {path} (trained by another run meanwhile)')
            return load_teacher(path), 0.0
        return _train_teacher(cfg, train_set, folder, path, log)


def _train_teacher(cfg, train_set, folder: Path, path: Path, log) -> tuple[Teacher, float]:
    folder.mkdir(parents=True, exist_ok=True)
    tcfg = cfg.teacher.train.to_dict()
    resumed = (folder / 'work' / 'last_checkpoint').is_file()
    log(f"teacher: {'resuming' if resumed else 'training'} {tcfg['method']} {cfg.teacher.arch.arch} "
        f"x{cfg.teacher.arch.width} for {tcfg['epochs']} epochs (cached afterwards in {folder})")
    budget = {k: v for k, v in tcfg.items() if k not in ('method', 'method_cfg')}
    start = time.perf_counter()
    from methods.registry import get_method
    views = train_set.with_recipes([get_method(tcfg['method']).augmentation] * get_method(tcfg['method']).num_views)
    # resume=True: a run killed while training the teacher continues from its last epoch checkpoint
    result = train_method(tcfg['method'], tcfg.get('method_cfg', {}), cfg.teacher.arch.to_dict(), None, views,
                          budget, folder / 'work', cfg.seed, cfg.device, desc='teacher', resume=True)
    method = result.method
    if dist_info().is_main:  # trained by every process together (DDP), written once
        save_teacher(path, method.student_backbone(), getattr(method, 'head', None),
                     dict(name=f"{tcfg['method']} {cfg.teacher.arch.arch} x{cfg.teacher.arch.width}",
                          key=teacher_key(cfg), train=tcfg, wall_time_s=result.wall_time_s,
                          images_seen=result.images_seen))
    barrier()
    return load_teacher(path), time.perf_counter() - start
