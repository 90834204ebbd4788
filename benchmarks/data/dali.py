"""Decode and crop image files with NVIDIA DALI (``data.decode='dali'``), an optional backend.

DALI (https://github.com/NVIDIA/DALI) decodes JPEGs on the GPU (nvJPEG, through its ``mixed`` decoders)
and resizes there, which is what keeps a GPU busy when a few CPU cores cannot decode ImageNet fast
enough (the SlimCLR authors trained their ImageNet students through DALI for this reason). It is not a
dependency: ``pip install nvidia-dali-cuda120`` (CUDA 12 drivers) or ``nvidia-dali-cuda130`` enables
it, and a run asking for it without it stops before any work (`benchmarks.checks`).

View semantics are the project's, not DALI's: DALI's own random crop has its own generator, so it is
not used. As on the ``'crop'`` path (`benchmarks.data.crops`):

1. the loader reads each file's bytes and header (its size) and draws every view's parameters from
   the view's (seed, epoch, index, view) generator (`BatchViews.sample_params`) -- the same boxes,
   flips and colour parameters as the batched recipes and the ``'crop'`` path;
2. DALI decodes each file once (``fn.decoders.image``: nvJPEG on the GPU, libjpeg-turbo through
   nvImageCodec on the CPU) and resizes each view's box to ``size`` x ``size``
   (``fn.resize`` with a region of interest: linear filter with antialiasing);
3. flip, colour jitter, grayscale and blur run batched on the same device (`BatchViews.apply`).

Where the pixels differ from the ``'crop'`` path: the file is decoded at full size (no DCT scaling),
the resize is DALI's antialiased linear filter rather than Pillow's, and nvJPEG's IDCT can differ from
libjpeg's by a grey level. With ``budget.views_on`` 'auto' or 'device' the decoding runs on the
training device when the data preprocessor asks for the batch (`PendingFiles`); the loader workers
then only read bytes and draw parameters. Otherwise DALI's CPU pipeline runs where the batch is
received: in the collate function of a loader without workers, or, for batches from loader workers, in
the process that reads them -- DALI never runs inside a worker (one forked from a process that has used
DALI can crash in DALI's native code).

A file DALI cannot decode is found by decoding the batch's files one at a time; it is named in a
`CorruptImageWarning` and goes through the dataset's ``'crop'`` path (Pillow), whose ``data.on_corrupt``
policy names it or substitutes another image of its class when Pillow cannot decode it either
(`benchmarks.data.datasets.ImageFilesDataset`). When DALI fails on every file of a batch the files are not
the problem: that is raised, never decoded around.
"""
from __future__ import annotations

import importlib.util
import os
import uuid
import warnings
import weakref

import numpy as np
import torch
from torch.utils.data import get_worker_info

from benchmarks.data.batch_views import BatchViews, PendingViews, concat_params
from benchmarks.data.imagefolder import CorruptImageWarning

INSTALL = ("pip install nvidia-dali-cuda120 (CUDA 12 drivers) or nvidia-dali-cuda130 (CUDA 13); or use "
           "data.decode='crop', which needs nothing extra")


def dali_installed() -> bool:
    """Whether ``nvidia.dali`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec('nvidia.dali') is not None
    except (ImportError, ValueError):   # no 'nvidia' namespace at all
        return False


def _threads() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1))


class DaliDecoder:
    """Encoded files -> uint8 crops ``[B, 3, size, size]`` per view, on a device.

    ``sources_of_view[v]``: which of the batch's file lists view ``v`` is cut from (0: the samples'
    own files, 1: their bag partners'). One DALI pipeline per device, built on first use for the batch size
    asked (DALI runs smaller batches through it; a larger one rebuilds it); `decoder_for` keeps one decoder
    per process and settings."""

    def __init__(self, size: int, sources_of_view, threads: int | None = None):
        self.size, self.sources_of_view = size, tuple(sources_of_view)
        self.sources = max(self.sources_of_view) + 1
        self.threads = threads or _threads()
        self._pipes = {}

    def _pipeline(self, batch: int, device: torch.device):
        key = (device.type, device.index)
        if key not in self._pipes or self._pipes[key][0] < batch:
            self._pipes[key] = (batch, self._build(batch, device))
        return self._pipes[key][1]

    def _build(self, batch: int, device: torch.device):
        from nvidia.dali import fn, types
        from nvidia.dali.pipeline import Pipeline
        gpu = device.type == 'cuda'
        device_id = (device.index if device.index is not None else torch.cuda.current_device()) if gpu else None
        # synchronous: the caller feeds one batch and waits for it (the loader already runs ahead)
        pipe = Pipeline(batch_size=batch, num_threads=self.threads, device_id=device_id, exec_async=False,
                        exec_pipelined=False, prefetch_queue_depth=1)
        with pipe:
            decoded = [fn.decoders.image(fn.external_source(name=f'file{s}', dtype=types.UINT8, ndim=1),
                                         device='mixed' if gpu else 'cpu', output_type=types.RGB)
                       for s in range(self.sources)]
            outs = []
            for v, s in enumerate(self.sources_of_view):
                start = fn.external_source(name=f'start{v}', dtype=types.FLOAT, ndim=1)
                end = fn.external_source(name=f'end{v}', dtype=types.FLOAT, ndim=1)
                outs.append(fn.resize(decoded[s], size=[self.size, self.size], roi_start=start, roi_end=end,
                                      roi_relative=False, interp_type=types.INTERP_LINEAR, antialias=True))
            pipe.set_outputs(*outs)
        pipe.build()
        return pipe

    def __call__(self, files, boxes, device=None) -> list[torch.Tensor]:
        """``files[s]``: the batch's encoded files (uint8 numpy arrays) of source ``s``; ``boxes[v]``:
        float ``[B, 4]`` (left, top, right, bottom) in full-size pixels of view ``v``'s source."""
        device = torch.device(device or 'cpu')
        n = len(files[0])
        pipe = self._pipeline(n, device)
        for s in range(self.sources):
            pipe.feed_input(f'file{s}', list(files[s]))
        for v, b in enumerate(boxes):
            b = b.numpy().astype(np.float32)
            # DALI's region of interest follows the HWC layout: (y, x)
            pipe.feed_input(f'start{v}', list(np.ascontiguousarray(b[:, [1, 0]])))
            pipe.feed_input(f'end{v}', list(np.ascontiguousarray(b[:, [3, 2]])))
        try:
            outs = pipe.run()
        except RuntimeError:
            # a pipeline that failed on a file is not reused: its decoders may have switched to another
            # backend, whose pixels differ by a grey level (seen with nvImageCodec's CPU decoders)
            self._pipes.pop((device.type, device.index), None)
            raise
        return [self._to_torch(out, n, device) for out in outs]

    def _to_torch(self, out, n: int, device: torch.device) -> torch.Tensor:
        from nvidia.dali.plugin.pytorch import feed_ndarray
        target = torch.empty((n, self.size, self.size, 3), dtype=torch.uint8, device=device)
        # on the GPU: copied in torch's current stream, ordered after DALI's work on its own stream
        stream = torch.cuda.current_stream(device) if device.type == 'cuda' else None
        feed_ndarray(out.as_tensor(), target, cuda_stream=stream)   # as_tensor: the batch as one dense tensor
        return target.permute(0, 3, 1, 2)   # HWC memory, as the 'crop' path's crops


# Per process: the decoders (a DALI pipeline is built once per process, device and batch size, and a batch
# that crossed from a loader worker must not bring -- or rebuild -- its own) and the datasets of the
# collate functions, which a `PendingFiles` names by token for the files DALI cannot decode.
_DECODERS: dict[tuple, DaliDecoder] = {}
_DATASETS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _first_line(exc: BaseException) -> str:
    """The informative line of an error: DALI's come as "Critical error in pipeline: ... encountered: <what>"."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if 'encountered:' in lines and lines.index('encountered:') + 1 < len(lines):
        return lines[lines.index('encountered:') + 1].rstrip(' :')
    return lines[0].rstrip(' :') if lines else type(exc).__name__


def decoder_for(size: int, sources_of_view, threads: int | None = None) -> DaliDecoder:
    """This process's `DaliDecoder` for these settings."""
    key = (size, tuple(sources_of_view), threads)
    if key not in _DECODERS:
        _DECODERS[key] = DaliDecoder(size, sources_of_view, threads)
    return _DECODERS[key]


class PendingFiles(PendingViews):
    """A batch of encoded files and its views' parameters; `make` decodes and finishes the views where it
    is called (`PendingViews`' contract: the data preprocessor calls it on the training device). Small to
    send from a loader worker: bytes, parameters, and the names of the decoder settings (``decoder``:
    `decoder_for`'s arguments) and of the dataset (``token``) whose ``'crop'`` path decodes a file DALI
    cannot, sample ``k`` being ``(epoch, indices[k])``."""

    def __init__(self, views, params, files, decoder: tuple, token: str, epoch: int, indices):
        super().__init__(views, params, [None] * len(views), cropped=True)
        self.files, self.decoder, self.token, self.epoch, self.indices = files, decoder, token, epoch, list(indices)

    def make(self, device=None) -> list:
        decoder = decoder_for(*self.decoder)
        boxes = [p['boxes'] for p in self.params]
        try:
            crops = decoder(self.files, boxes, device)
        except RuntimeError as exc:   # DALI reports any file it cannot decode as a RuntimeError for the batch
            crops = self._one_at_a_time(decoder, boxes, device, exc)
        return [bv.apply(c, p, cropped=True) for bv, c, p in zip(self.views, crops, self.params)]

    def _one_at_a_time(self, decoder, boxes, device, batch_error: RuntimeError) -> list[torch.Tensor]:
        n = len(self.files[0])
        dataset = _DATASETS[self.token]
        decoded = [None] * n
        for k in range(n):
            try:
                decoded[k] = [c[0] for c in decoder([[f[k]] for f in self.files], [b[k:k + 1] for b in boxes], device)]
            except RuntimeError as exc:
                decoded[k] = exc
        failed = [k for k in range(n) if isinstance(decoded[k], RuntimeError)]
        if n > 1 and len(failed) == n:   # not a bad file: DALI itself fails (device, driver, installation)
            raise RuntimeError(f"NVIDIA DALI failed on every file of a batch of {n}, so the files are not the "
                               f"problem: {_first_line(batch_error)}. Fix the DALI installation or use "
                               f"data.decode='crop'.") from batch_error
        per_sample, params = [], []
        for k in range(n):
            rows = [{key: val[k:k + 1] for key, val in p.items()} for p in self.params]
            crops = decoded[k]
            if k in failed:
                warnings.warn(f'NVIDIA DALI cannot decode {dataset.paths[self.indices[k]]} (or its bag partner): '
                              f'{_first_line(crops)}; decoding it with Pillow instead (data.on_corrupt applies '
                              f'if that fails too).', CorruptImageWarning, stacklevel=3)
                # the crop path applies data.on_corrupt: raises DataError naming the file, or substitutes
                _, crops, _, rows = dataset.crop_item(self.epoch, self.indices[k])
                crops = [c.to(device or 'cpu') for c in crops]
            per_sample.append(crops)
            params.append(rows)
        self.params = [concat_params([rows[v] for rows in params]) for v in range(len(self.views))]
        return [torch.stack([crops[v] for crops in per_sample]) for v in range(len(self.views))]

    def pin_memory(self):
        return self   # encoded bytes go to DALI, not through a host-to-device copy


class DaliViewCollate:
    """collate_fn for ``data.decode='dali'``: samples ``((epoch, index), [encoded file per source], label,
    [parameters of each view])`` (`ImageFilesDataset.file_item`) -> ``(index [B], views, label [B])``.
    ``on_device=True``, and always in a loader worker process: the views are `PendingFiles`, decoded where
    they are received (`benchmarks.data.batch_views.made_views`: the data preprocessor, the evaluations'
    loops). ``threads``: DALI's CPU threads (default: the cores this process may use, at most 8)."""

    def __init__(self, dataset, on_device: bool = False, threads: int | None = None):
        self.views = [BatchViews(r, dataset.image_size) for r in dataset.recipes]
        own = len(self.views) - dataset.partner_views
        self.decoder = (dataset.image_size, tuple([0] * own + [1] * dataset.partner_views), threads)
        self.dataset, self.on_device = dataset, on_device
        self.token = uuid.uuid4().hex
        _DATASETS[self.token] = dataset

    def __setstate__(self, state):   # a copy in a spawned loader worker: its dataset answers there
        self.__dict__.update(state)
        _DATASETS[self.token] = self.dataset

    def __call__(self, samples):
        epochs = {s[0][0] for s in samples}
        if len(epochs) != 1:
            raise ValueError('a batch mixes samples of different epochs')
        epoch, indices = epochs.pop(), [s[0][1] for s in samples]
        files = [[s[1][src] for s in samples] for src in range(max(self.decoder[1]) + 1)]
        params = [concat_params([s[3][v] for s in samples]) for v in range(len(self.views))]
        views = PendingFiles(self.views, params, files, self.decoder, self.token, epoch, indices)
        labels = torch.tensor([s[2] for s in samples], dtype=torch.long)
        # never DALI inside a loader worker: a worker forked from a process that has used DALI can crash in
        # DALI's native code (seen: segmentation faults), so the worker's batch is made by its receiver
        in_worker = get_worker_info() is not None
        return torch.tensor(indices, dtype=torch.long), views if self.on_device or in_worker else views.make(), labels
