"""The teacher's outputs on the training stream: into the batch, and computed once per run.

`TeacherOutputs` is what the harness hands to the training's data preprocessor: for every batch it
returns the teacher's outputs on each view, which join the batch as ``batch['teacher']`` (the method
never calls the teacher). `TeacherOutputHook` tells it the epoch. With sharing it reads and writes a
`TeacherOutputCache`:

Every method of a suite sees the same views in the same order (views are seeded by (seed, epoch,
sample index, view) and the sampler by (seed, epoch): docs/methods.md#fair-comparison-rules), so the
teacher's outputs on view ``v`` of sample ``i`` in epoch ``e`` under augmentation recipe ``r`` are the
same for every method that asks. The first method computes them; the others read them back. A
*stream* is ``(recipe, v)``; its storage holds, per slot and sample, the pooled backbone feature and
the head output in ``dtype`` (fp16 by default):

    bytes per stream = slots x N x (D_backbone + D_head) x 2          (fp16)
    slots = budget.epochs, or budget.views_per_image = K when set (view seeds cycle over K epochs)

e.g. the embedded default (N = 5,000, teacher ResNet-18 x0.5: 256 + 128 dims, 10 epochs) needs 38 MB
per stream; ImageNet (1.28 M, ResNet-50 2048 + 128 dims) needs 5.6 GB per slot, so large runs set
``views_per_image`` (e.g. 4: 22 GB) and ``teacher_sharing.storage='disk'`` (memory-mapped files in
``$SSLCB_CACHE/teacher_outputs/<key>/``, reusable by later runs with the same teacher, data, seed and
stream, and by a resumed run).

The teacher's outputs are rounded to ``dtype`` whether sharing is on or off, so results with and
without sharing are identical (tests/benchmarks/teachers/test_outputs.py). Lookups need no host-device sync: a
slot is read only once the method that wrote it has finished that epoch (`mark_complete`), and rows
are gathered with the batch's index tensor on the device that holds the storage.

Counters (`forward_images`, `cached_images`) go into each result row, so a run shows how many
teacher forwards it paid.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from mmengine.hooks import Hook

from benchmarks.cachefill import fill, locked, write_bytes

DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32}


class _Stream:
    """Storage of one (recipe, view) stream: ``backbone [S, N, Db]``, ``head [S, N, Dh]`` (or None)."""

    def __init__(self, slots: int, n: int, dims: dict, dtype, device, folder: Path | None):
        self.folder, self._maps = folder, []
        self.backbone = self._alloc(slots, n, dims['backbone'], dtype, device, 'backbone')
        self.head = self._alloc(slots, n, dims['head'], dtype, device, 'head') if 'head' in dims else None
        state = folder / 'complete.json' if folder is not None else None
        self.complete = set(json.loads(state.read_text())) if state is not None and state.is_file() else set()

    def _alloc(self, slots, n, d, dtype, device, name):
        if self.folder is None:
            return torch.zeros(slots, n, d, dtype=dtype, device=device)
        path = self.folder / f'{name}.f16'

        def produce(tmp: Path):  # zero-filled (sparse) file of the full size, created once under a lock
            np.memmap(tmp, dtype=np.float16, mode='w+', shape=(slots, n, d)).flush()

        # numpy has no bfloat16: disk storage is float16 (TeacherOutputCache checks it)
        fill(path, produce, complete=lambda p: p.is_file(), what='the teacher-output store')
        mm = np.memmap(path, dtype=np.float16, mode='r+', shape=(slots, n, d))
        self._maps.append(mm)
        return torch.from_numpy(mm)

    def mark_complete(self, slot: int) -> None:
        self.complete.add(slot)
        if self.folder is not None:  # data first, then the record that says it is there
            for mm in self._maps:
                mm.flush()
            state = self.folder / 'complete.json'
            with locked(state):  # another process may have completed other slots of the same stream
                if state.is_file():
                    self.complete |= set(json.loads(state.read_text()))
                write_bytes(state, json.dumps(sorted(self.complete)).encode())


class TeacherOutputCache:
    """Shared teacher outputs of one run (see module doc), read and written through `TeacherOutputs`."""

    def __init__(self, num_samples: int, slots: int, dims: dict, dtype: str = 'float16', storage: str = 'memory',
                 device='cpu', folder: Path | None = None):
        if dtype not in DTYPES:
            raise ValueError(f'teacher_sharing.dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
        if storage not in ('memory', 'disk'):
            raise ValueError(f"teacher_sharing.storage must be 'memory' or 'disk', got {storage!r}")
        if storage == 'disk' and dtype != 'float16':
            raise ValueError("teacher_sharing.storage='disk' stores float16 (numpy has no bfloat16); set "
                             "teacher_sharing.dtype='float16'")
        self.num_samples, self.slots, self.dims = num_samples, slots, dict(dims)
        self.dtype, self.storage = DTYPES[dtype], storage
        self.device = torch.device(device) if storage == 'memory' else torch.device('cpu')
        self.folder = Path(folder) if folder is not None else None
        self.streams: dict = {}
        self.forward_images = 0
        self.cached_images = 0

    def stream(self, key) -> _Stream:
        if key not in self.streams:
            folder = None
            if self.storage == 'disk':
                folder = self.folder / hashlib.sha1(repr(key).encode()).hexdigest()[:12]
            self.streams[key] = _Stream(self.slots, self.num_samples, self.dims, self.dtype, self.device, folder)
        return self.streams[key]

    def nbytes(self) -> int:
        per = self.dims['backbone'] + self.dims.get('head', 0)
        return len(self.streams) * self.slots * self.num_samples * per * torch.finfo(self.dtype).bits // 8

    def get(self, key, slot: int, index: torch.Tensor):
        """``dict(backbone, head)`` rows of ``index`` in float32 on ``index``'s device, or None when that
        slot of the stream is not complete yet."""
        s = self.stream(key)
        if slot not in s.complete:
            return None
        idx = index.to(self.device)
        out = dict(backbone=s.backbone[slot].index_select(0, idx).to(index.device, torch.float32),
                   head=s.head[slot].index_select(0, idx).to(index.device, torch.float32) if s.head is not None
                   else None)
        self.cached_images += index.shape[0]
        return out

    def put(self, key, slot: int, index: torch.Tensor, outputs: dict) -> None:
        s = self.stream(key)
        idx = index.to(self.device)
        s.backbone[slot].index_copy_(0, idx, outputs['backbone'].detach().to(self.device, self.dtype))
        if s.head is not None and outputs.get('head') is not None:
            s.head[slot].index_copy_(0, idx, outputs['head'].detach().to(self.device, self.dtype))
        self.forward_images += index.shape[0]


def cache_key(teacher_fingerprint: str, data: dict, seed: int, image_size: int, budget: dict, world_size: int) -> str:
    """Folder name of a disk cache: everything the stored outputs depend on."""
    from benchmarks.code_version import code_version
    # the views the outputs were computed on come from the data code
    blob = dict(teacher=teacher_fingerprint, data=data, seed=seed, image_size=image_size, code=code_version(('benchmarks/data',)),
                batch_size=budget['batch_size'], epochs=budget['epochs'], views=budget.get('views_per_image'),
                world=world_size, amp=budget.get('amp'))
    return hashlib.sha1(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


class TeacherOutputs:
    """The teacher's outputs on the views of a training batch, for `ViewsPreprocessor`.

    ``__call__(index [N], views [V] of [N, 3, H, W]) -> [V] of dict(backbone, head)``. With a ``cache``,
    view ``v`` of the stream ``recipe`` is looked up by (recipe, v, epoch slot, sample index) and
    computed (and stored) only when no earlier method of the run completed that epoch; what an
    interrupted method wrote in its last, unfinished epoch is never marked complete.
    """

    def __init__(self, teacher, cache: TeacherOutputCache | None = None, recipe: str | None = None,
                 shared_views: int | None = None):
        self.teacher, self.cache, self.recipe = teacher, cache, recipe
        # views from `shared_views` on are not the sample's own (a bag partner's, `ViewDataset.with_partners`):
        # the stream (recipe, v) would mean other images to another method, so they are computed, never stored
        self.shared_views = shared_views
        self.slot = 0
        self._written = set()

    def set_epoch(self, epoch: int) -> None:
        if self.cache is not None:
            self.slot = epoch % self.cache.slots

    def epoch_done(self, epoch: int) -> None:
        """Streams written during ``epoch`` are complete for its slot: later methods read them."""
        if self.cache is not None:
            for key in self._written:
                self.cache.stream(key).mark_complete(epoch % self.cache.slots)
        self._written = set()

    def __call__(self, index: torch.Tensor, views, only=None) -> list:
        """``only``: the view numbers whose outputs are needed (None: all); the others are None."""
        out = []
        for v, x in enumerate(views):
            if only is not None and v not in only:
                out.append(None)
                continue
            share = self.cache is not None and self.recipe and (self.shared_views is None or v < self.shared_views)
            key = (self.recipe, v)
            found = self.cache.get(key, self.slot, index) if share else None
            if found is None:
                found = self.teacher(x)
                if share:
                    self.cache.put(key, self.slot, index, found)
                    self._written.add(key)
            out.append(found)
        return out


class TeacherOutputHook(Hook):
    """Keeps `TeacherOutputs` on the runner's epoch (the shared store is organised by epoch)."""

    priority = 'HIGH'

    def __init__(self, outputs: TeacherOutputs):
        self.outputs = outputs

    def before_train_epoch(self, runner):
        self.outputs.set_epoch(runner.epoch)

    def after_train_epoch(self, runner):
        self.outputs.epoch_done(runner.epoch)  # (mmengine advances runner.epoch after this hook)

