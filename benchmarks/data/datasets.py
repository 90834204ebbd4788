"""Datasets returning ``(index, views, label)``: images in memory (`ArrayDataset`: the embedded default,
CIFAR, STL-10) or listed as files (`ImageFilesDataset`: any ImageFolder, ImageNet, Tiny-ImageNet); which
kind a suite uses is `benchmarks.data.sources` (``data.type``).

* ``index``: the sample's position in its split (stable: used for per-sample seeding and, later, for
  caches keyed by sample);
* ``views``: a list of uint8 ``[3, H, W]`` tensors, one per recipe in ``recipes`` (see
  `benchmarks.data.views`), normalised later on the device by `ViewsPreprocessor`;
* ``label``: the class id (used only by evaluations, never by the self-supervised methods).

Training loaders use `EpochIndexSampler`, which yields ``(epoch, index)`` so each worker knows the
epoch without shared state; view ``v`` of sample ``i`` is seeded with ``(seed, epoch, i, v)``.
Datasets of fixed-size in-memory images (the embedded default) make their views per batch in the
collate function (`benchmarks.data.batch_views`, several times faster on CPU); others per sample with
torchvision transforms. Always build loaders with ``collate_fn=dataset.collate_fn()``.

ImageFolder data is checked for corrupt or unreadable images before training (``data.verify_images``,
``data.on_corrupt``): 'fail' stops with the list of bad files, 'skip' leaves them out and substitutes a
same-class image for any file that still fails to decode during training. The policy is documented in
`benchmarks.data.imagefolder`; the training-time part in `ImageFolderDataset`.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Dataset, default_collate

from benchmarks.data.views import build_view_transform, partner_choice, seeded_views
from benchmarks.data.batch_views import BatchViewCollate, BatchViews, CropViewCollate, PendingViews, made_views
from benchmarks.data.crops import decode_crops
from benchmarks.data.sources import DECODE
from benchmarks.errors import DataError
from benchmarks.data.imagefolder import (CorruptImageWarning, apply_corrupt_policy, check_images, check_options, decode_rgb,
                          scan_imagefolder, short_reason)
from benchmarks.data.synthetic import SyntheticSpec, materialise

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ViewDataset(Dataset):
    """Base class: subclasses provide ``labels``, ``classes`` and ``load(i) -> uint8 [3, H, W]``."""

    labels: np.ndarray
    classes: list
    batched_views = False   # True: every image has the same size, views are made per batch
    labelled = True         # False: an unlabelled split (STL-10's), labels are -1; evaluations use another split
    decode = 'full'         # files: 'crop' decoded straight into the views' crops (`ImageFilesDataset.crop_item`),
                            # 'dali' read as bytes for NVIDIA DALI (`ImageFilesDataset.file_item`)
    name = ''               # what the split is, for captions and logs ('CIFAR-100 train')

    def __init__(self, recipes=('center',), image_size: int = 64, seed: int = 0):
        self.recipes = list(recipes)
        self.image_size = image_size
        self.seed = seed
        self.transforms = [build_view_transform(r, image_size) for r in self.recipes]
        self.bags, self.partner_views = None, 0   # see with_partners

    def __len__(self):
        return len(self.labels)

    def load(self, i: int) -> torch.Tensor:
        raise NotImplementedError

    def partner_of(self, epoch: int, i: int) -> int:
        """Sample ``i``'s bag partner in ``epoch`` (`with_partners`)."""
        bag = self.bags[i]
        return int(bag[partner_choice(self.seed, epoch, i, len(bag))])

    def __getitem__(self, key):
        epoch, i = key if isinstance(key, tuple) else (0, key)
        if self.decode == 'crop':
            return self.crop_item(epoch, i)
        if self.decode == 'dali':
            return self.file_item(epoch, i)
        if self.batched_views:
            item = ((epoch, i), self.load(i), int(self.labels[i]))
            return item + (self.load(self.partner_of(epoch, i)),) if self.partner_views else item
        own = len(self.transforms) - self.partner_views
        views = seeded_views(self.load(i), self.transforms[:own], self.seed, epoch, i)
        if self.partner_views:
            views += seeded_views(self.load(self.partner_of(epoch, i)), self.transforms[own:], self.seed, epoch, i,
                                  first_view=own)
        return i, views, int(self.labels[i])

    def collate_fn(self, views_on_device: bool = False):
        """The collate function that turns samples into ``(index, views, label)`` batches.
        ``views_on_device``: a batched dataset returns the views as `PendingViews`, made by
        `ViewsPreprocessor` on the training device (``budget.views_on``); others ignore it."""
        if self.batched_views:
            return BatchViewCollate(self.recipes, self.image_size, self.seed, partner_views=self.partner_views,
                                    on_device=views_on_device)
        if self.decode == 'crop':
            return CropViewCollate(self.recipes, self.image_size, on_device=views_on_device)
        if self.decode == 'dali':
            from benchmarks.data.dali import DaliViewCollate  # optional backend: imports nvidia.dali when used
            return DaliViewCollate(self, on_device=views_on_device)
        return default_collate

    def with_recipes(self, recipes):
        """The same images and labels with other view recipes (shares the loaded arrays); no partners."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        ViewDataset.__init__(clone, recipes, self.image_size, self.seed)
        return clone

    def with_partners(self, bags, views: int):
        """The same dataset whose last ``views`` views show a *bag partner* of each sample instead of the
        sample itself (BINGO's neighbour views): ``bags`` [N, k] holds dataset indices, and sample ``i``'s
        partner in epoch ``e`` is ``bags[i, j]`` with ``j`` drawn by `partner_choice` (seeded by
        (seed, e, i)). The partner's views are seeded by the *anchor's* (seed, epoch, index, view), so a
        batch is a function of its indices alone, as without partners."""
        bags = np.asarray(bags)
        if bags.ndim != 2 or len(bags) != len(self) or bags.shape[1] < 1:
            raise ValueError(f'bags must be [{len(self)}, k >= 1] dataset indices, got shape {tuple(bags.shape)}')
        if bags.min() < 0 or bags.max() >= len(self):
            raise ValueError(f'bags hold indices outside the dataset (0..{len(self) - 1})')
        if not 1 <= views < len(self.recipes):
            raise ValueError(f'partner views must be 1..{len(self.recipes) - 1} of the {len(self.recipes)} views, '
                             f'got {views}')
        clone = self.with_recipes(self.recipes)
        clone.bags, clone.partner_views = bags, views
        return clone


class ArrayDataset(ViewDataset):
    """Fixed-size images held in memory: ``images`` uint8 ``[N, 3, H, W]`` (a tensor, or a numpy array --
    also a read-only memory map, copied one image at a time), ``labels`` int64 ``[N]`` (-1 throughout for
    an unlabelled split), ``classes`` the class names. Views are made per batch (`BatchViewCollate`)."""

    batched_views = True

    def __init__(self, images, labels, classes, recipes=('center',), image_size: int = 64, seed: int = 0,
                 name: str = ''):
        super().__init__(recipes, image_size, seed)
        self.images, self.labels, self.classes, self.name = images, np.asarray(labels, dtype=np.int64), list(classes), name
        self.labelled = bool(len(self.labels)) and bool((self.labels >= 0).all())

    def load(self, i):
        img = self.images[i]
        return img if isinstance(img, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(img))


class EmbeddedDataset(ArrayDataset):
    """The procedurally generated default (`benchmarks.data.synthetic`), held in memory as uint8."""

    def __init__(self, split: str, spec: SyntheticSpec, recipes=('center',), seed: int = 0, cache_dir=None):
        root = materialise(spec, cache_dir)
        arrays = np.load(root / f'{split}.npz')
        super().__init__(torch.from_numpy(np.ascontiguousarray(arrays['images'].transpose(0, 3, 1, 2))),
                         arrays['labels'], spec.class_names, recipes, spec.image_size, seed, name=f'embedded {split}')


class ImageFilesDataset(ViewDataset):
    """Images listed as ``samples`` ``[(path, label)]`` (labels = positions in ``classes``), decoded per
    sample; ``where`` names the split in messages (a folder). The base of `ImageFolderDataset` and of the
    file-list datasets of `benchmarks.data.imagenet` (ImageNet with a flat val/, ImageNet-100,
    Tiny-ImageNet). ``verify`` / ``on_corrupt``: the image check of `ImageFolderDataset` (its docstring)."""

    def __init__(self, samples, classes, where, recipes=('center',), image_size: int = 64, seed: int = 0,
                 verify: str = 'none', on_corrupt: str = 'fail', name: str = '', decode: str = 'full'):
        super().__init__(recipes, image_size, seed)
        if decode not in DECODE:
            raise ValueError(f'decode must be one of {DECODE}, got {decode!r}')
        self.decode = decode   # data.decode (benchmarks.data.crops, benchmarks.data.dali)
        check_options(verify, on_corrupt)
        samples, self.skipped = apply_corrupt_policy(samples, check_images(samples, verify), on_corrupt, where)
        self.on_corrupt = on_corrupt
        self.split_dir = Path(where)
        self.classes = list(classes)
        self.name = name or str(where)
        self.paths = [p for p, _ in samples]
        self.labels = np.array([c for _, c in samples], dtype=np.int64)
        self._failed = {}       # index -> reason, for files that failed to decode in this process
        self._substitute = {}   # index -> index of the image loaded in its place (on_corrupt='skip')

    def load(self, i):
        src = self._substitute.get(i, i)
        try:
            return decode_rgb(self.paths[src])
        except Exception as exc:  # noqa: BLE001 -- decoders raise RuntimeError/OSError/ValueError by format
            if self.on_corrupt != 'skip':
                raise DataError(f'cannot decode image {self.paths[src]}: {short_reason(exc)}. Remove or replace the file, or set '
                                f'data.on_corrupt=skip to train on a substitute image instead.') from exc
            self._record_failure(src, short_reason(exc))
        return self._load_substitute(i)

    def crop_item(self, epoch: int, i: int):
        """``((epoch, i), [crop uint8 [3,S,S] per view], label, [parameters per view])`` for `CropViewCollate`:
        each view's parameters drawn once, here, from its (seed, epoch, i, view) generator
        (`BatchViews.sample_params` for one sample); the file decoded once into the boxes' crops; bag-partner
        views crop the partner's file with the anchor's generators."""
        return self._sourced_item(epoch, i, self._decode_crops, lambda crops: crops)

    def file_item(self, epoch: int, i: int):
        """``((epoch, i), [encoded file uint8 [n] per source], label, [parameters per view])`` for
        `benchmarks.data.dali.DaliViewCollate`: the file's bytes and header read here, each view's parameters
        drawn as in `crop_item`; the sources are the sample's file and, with bag partners, its partner's."""
        return self._sourced_item(epoch, i, self._read_file, lambda data: [data])

    def _sourced_item(self, epoch: int, i: int, read, as_list):
        """The item of `crop_item` / `file_item`: ``read(src, epoch, anchor, views) -> (what, params)`` for the
        sample's own views, then for its bag partner's with the anchor's generators."""
        own = len(self.recipes) - self.partner_views
        what, params = self._tolerant(read, i, epoch, i, range(own))
        out = as_list(what)
        if self.partner_views:
            more, more_params = self._tolerant(read, self.partner_of(epoch, i), epoch, i, range(own, len(self.recipes)))
            out, params = out + as_list(more), params + more_params
        return (epoch, i), out, int(self.labels[i]), params

    def _tolerant(self, read, j: int, epoch: int, anchor: int, views):
        """``read`` for image ``j``; unreadable files are handled as in `load`."""
        src = self._substitute.get(j, j)
        try:
            return read(src, epoch, anchor, views)
        except Exception as exc:  # noqa: BLE001 -- Pillow raises OSError/SyntaxError/ValueError by format
            if self.on_corrupt != 'skip':
                raise DataError(f'cannot decode image {self.paths[src]}: {short_reason(exc)}. Remove or replace the file, '
                                f'or set data.on_corrupt=skip to train on a substitute image instead.') from exc
            self._record_failure(src, short_reason(exc))
        self._load_substitute(j)  # finds (and remembers) the same-class substitute
        return read(self._substitute[j], epoch, anchor, views)

    def _decode_crops(self, src: int, epoch: int, anchor: int, views) -> tuple[list, list]:
        params = []

        def boxes_of(h, w):
            params.extend(self._view_params(epoch, anchor, views, h, w))
            return [tuple(p['boxes'][0].tolist()) for p in params]
        crops, _ = decode_crops(self.paths[src], boxes_of, self.image_size)
        return crops, params

    def _view_params(self, epoch: int, anchor: int, views, h: int, w: int) -> list:
        """Each view's parameters for an image of size ``(h, w)``, from the (seed, epoch, anchor, view) generators."""
        return [BatchViews(self.recipes[v], self.image_size).sample_params(self.seed, epoch, [anchor], v, h, w)
                for v in views]

    def _read_file(self, src: int, epoch: int, anchor: int, views) -> tuple[np.ndarray, list]:
        from PIL import Image
        data = Path(self.paths[src]).read_bytes()
        with Image.open(io.BytesIO(data)) as im:   # the header only: the size the boxes are drawn for
            w, h = im.size
        return np.frombuffer(data, dtype=np.uint8), self._view_params(epoch, anchor, views, h, w)

    def failed_images(self) -> list:
        """``(path, reason)`` of the images of this dataset (and its `with_recipes` clones, which share
        the record) replaced at training time in this process (``data.on_corrupt='skip'``)."""
        return [(self.paths[j], f'decode failed: {reason}') for j, reason in self._failed.items()]

    def _record_failure(self, j: int, reason: str) -> None:
        path = self.paths[j]
        if j not in self._failed:
            self._failed[j] = reason
            warnings.warn(f'data.on_corrupt=skip: cannot decode {path} ({reason}); training on a substitute '
                          f'image of the same class instead. Remove or replace the file.', CorruptImageWarning,
                          stacklevel=3)

    def _load_substitute(self, i: int) -> torch.Tensor:
        """The first image that decodes among: the same class after ``i`` (wrapping), then any class."""
        n = len(self.paths)
        order = (np.arange(1, n) + i) % n
        same = self.labels[order] == self.labels[i]
        for j in np.concatenate([order[same], order[~same]]).tolist():
            if j in self._failed:
                continue
            try:
                img = decode_rgb(self.paths[j])
            except Exception as exc:  # noqa: BLE001 -- as in load()
                self._record_failure(j, short_reason(exc))
                continue
            if self.labels[j] != self.labels[i]:
                warnings.warn(f'no image of class {self.classes[self.labels[i]]!r} decodes; {self.paths[i]} is '
                              f'replaced by {self.paths[j]} of class {self.classes[self.labels[j]]!r}, so its '
                              f'label is wrong for evaluations. Replace the class\'s images.', CorruptImageWarning,
                              stacklevel=3)
            self._substitute[i] = j
            return img
        raise DataError(f'none of the {n} images of {self.split_dir} decodes (e.g. {self.paths[i]}: '
                        f'{self._failed.get(i, "?")}); data.on_corrupt=skip has nothing to substitute. Check the '
                        f'dataset files and extract or download them again.')


class ImageFolderDataset(ImageFilesDataset):
    """Any torchvision-ImageFolder layout: ``root/{train,val}/<class>/<image>``.

    Images are decoded as RGB uint8 ``[3, H, W]`` with `benchmarks.data.imagefolder.decode_rgb`
    (torchvision.io; Pillow for BMP/TIFF/Netpbm, which torchvision.io cannot decode) and
    resized/cropped by the view recipes. ``labels`` int64 ``[N]`` are positions in ``classes`` (the
    sorted class folders).

    Unreadable images (policy in `benchmarks.data.imagefolder`'s docstring):

    * ``verify`` ('header' | 'decode' | 'none', ``data.verify_images``) checks every image here, before
      training; ``on_corrupt`` ('fail' | 'skip', ``data.on_corrupt``) then raises `DataError` or leaves
      the bad files out. ``skipped`` lists the files left out as ``(path, reason)``; the class list is
      the folders', so class ids stay aligned with train/ and val/ whatever was skipped. The constructor
      checks nothing by default (``verify='none'``); `build_datasets` passes the config (default 'header').
    * A file that passed the check but fails to decode when loaded: 'fail' raises `DataError` naming
      it; 'skip' loads a deterministic substitute instead -- the next index (wrapping around) *of the
      same class* that decodes, so the image still matches ``labels[i]`` (which evaluations read
      directly); only when no image of that class decodes, the next index of any class. The file is
      recorded once per dataset in `ImageFolderDataset.failed_images` with a `CorruptImageWarning`, and remembered by
      this dataset (and its `with_recipes` clones) so it is not decoded again. Deviation from plainly taking
      the next index: same class first, to keep the linear probe's labels right. Records made in
      DataLoader worker processes stay in those processes (their warnings still reach stderr).
    """

    def __init__(self, root, split: str, recipes=('center',), image_size: int = 64, seed: int = 0,
                 classes=None, verify: str = 'none', on_corrupt: str = 'fail', decode: str = 'full'):
        check_options(verify, on_corrupt)  # a typo in the policy is reported before the folder is scanned
        split_dir = Path(root) / split
        found, samples = scan_imagefolder(split_dir)
        if classes is not None and found != list(classes):
            raise DataError(f'{Path(root) / split} has classes {found[:5]}... but train/ has {list(classes)[:5]}...; '
                            f'train/ and val/ must contain the same class folders.')
        super().__init__(samples, found, split_dir, recipes, image_size, seed, verify, on_corrupt,
                         decode=decode)


# settings of the pre-training image check: they decide whether a run starts, not what the data is
DATA_CHECK_KEYS = ('verify_images', 'on_corrupt')


def data_identity(data_cfg: dict) -> dict:
    """The ``data`` section as far as it determines the images (cache keys of teachers and prepared
    results): the image-check policy is left out, so changing it reuses the caches."""
    return {k: v for k, v in dict(data_cfg).items() if k not in DATA_CHECK_KEYS}


@DATA_SAMPLERS.register_module()
class EpochIndexSampler(DefaultSampler):
    """mmengine's DefaultSampler (seeded shuffle per epoch) yielding ``(epoch, index)`` pairs.

    With ``batch_size`` (the per-process batch) it shards by *global batch*: the epoch's permutation is
    cut into global batches of ``batch_size * world_size`` and rank ``r`` takes the ``r``-th contiguous
    block of each (the incomplete last global batch is dropped, as ``drop_last`` does). All-gathering
    a step's keys in rank order then reproduces exactly the single-process batch in the same order, so
    a distributed run's queues hold what a single-process run with the same global batch holds.
    mmengine's default interleaved sharding (``indices[rank::world]``) would give the same images in
    another order. Without ``batch_size`` it behaves like DefaultSampler. ``views_per_image=K`` seeds
    views with ``epoch mod K`` (see ``__init__``).
    """

    def __init__(self, dataset, shuffle: bool = True, seed=None, round_up: bool = True,
                 batch_size: int | None = None, views_per_image: int | None = None):
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        self.batch_size = batch_size
        # the epoch given to the view seeds cycles over K values: each image has K distinct views in
        # the whole training (bounded teacher-output storage, benchmarks/teachers/outputs.py); the
        # order of samples still changes every epoch
        self.views_per_image = views_per_image
        if batch_size is not None:
            per_global = batch_size * self.world_size
            self.num_samples = (len(dataset) // per_global) * batch_size

    def _permutation(self) -> list:
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            return torch.randperm(len(self.dataset), generator=g).tolist()
        return list(range(len(self.dataset)))

    def __iter__(self):
        epoch = self.epoch if not self.views_per_image else self.epoch % self.views_per_image
        if self.batch_size is None:
            for i in super().__iter__():
                yield epoch, i
            return
        order, b = self._permutation(), self.batch_size
        for start in range(0, (len(order) // (b * self.world_size)) * b * self.world_size, b * self.world_size):
            for i in order[start + self.rank * b:start + (self.rank + 1) * b]:
                yield epoch, i


class ViewsPreprocessor(BaseDataPreprocessor):
    """Moves a collated ``(index, views, label)`` batch to the device and normalises the views.

    uint8 [N,3,H,W] -> float32 ``(x / 255 - mean) / std`` on the device, so the host only moves bytes;
    ``channels_last=True`` returns the views in NHWC memory layout (the budget's ``channels_last``).
    ``teacher_outputs``: a callable ``(index, views) -> [per-view outputs]`` (the harness's teacher
    outputs, `benchmarks.teachers.outputs.TeacherOutputs`); its result joins the batch as its fourth
    element, ``teacher``, so a method reads the teacher's outputs from the batch. ``teacher_views``: the
    view numbers the method reads teacher outputs of (`Method.teacher_views`; None: every view); the
    others are None in the batch and cost no teacher forward.
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD, channels_last: bool = False, teacher_outputs=None,
                 teacher_views=None):
        super().__init__()
        self.channels_last = channels_last
        self.teacher_outputs = teacher_outputs
        self.teacher_views = None if teacher_views is None else tuple(teacher_views)  # None: every view
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.float() / 255.0 - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def forward(self, data, training: bool = False):
        index, views, label = self.cast_data(list(data))
        views = made_views(views, self.mean.device)  # PendingViews (budget.views_on='device'): the pixel work happens here
        views = [self.normalise(v) for v in views]
        teacher = None
        if self.teacher_outputs is not None:
            teacher = (self.teacher_outputs(index, views) if self.teacher_views is None
                       else self.teacher_outputs(index, views, only=self.teacher_views))
        return index, views, label, teacher
