"""Datasets returning ``(index, views, label)``: the embedded default and any ImageFolder by path.

* ``index``: the sample's position in its split (stable: used for per-sample seeding and, later, for
  caches keyed by sample);
* ``views``: a list of uint8 ``[3, H, W]`` tensors, one per recipe in ``recipes`` (see
  `benchmarks.augment`), normalised later on the device by `ViewsPreprocessor`;
* ``label``: the class id (used only by evaluations, never by the self-supervised methods).

Training loaders use `EpochIndexSampler`, which yields ``(epoch, index)`` so each worker knows the
epoch without shared state; view ``v`` of sample ``i`` is seeded with ``(seed, epoch, i, v)``.
Datasets of fixed-size in-memory images (the embedded default) make their views per batch in the
collate function (`benchmarks.batch_augment`, several times faster on CPU); others per sample with
torchvision transforms. Always build loaders with ``collate_fn=dataset.collate_fn()``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Dataset, default_collate
from torchvision.io import ImageReadMode, decode_image

from .augment import build_view_transform, seeded_views
from .batch_augment import BatchViewCollate
from .errors import DataError
from .imagefolder import scan_imagefolder
from .synthetic import SyntheticSpec, materialise

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ViewDataset(Dataset):
    """Base class: subclasses provide ``labels``, ``classes`` and ``load(i) -> uint8 [3, H, W]``."""

    labels: np.ndarray
    classes: list
    batched_views = False   # True: every image has the same size, views are made per batch

    def __init__(self, recipes=('center',), image_size: int = 64, seed: int = 0):
        self.recipes = list(recipes)
        self.image_size = image_size
        self.seed = seed
        self.transforms = [build_view_transform(r, image_size) for r in self.recipes]

    def __len__(self):
        return len(self.labels)

    def load(self, i: int) -> torch.Tensor:
        raise NotImplementedError

    def __getitem__(self, key):
        epoch, i = key if isinstance(key, tuple) else (0, key)
        if self.batched_views:
            return (epoch, i), self.load(i), int(self.labels[i])
        views = seeded_views(self.load(i), self.transforms, self.seed, epoch, i)
        return i, views, int(self.labels[i])

    def collate_fn(self):
        """The collate function that turns samples into ``(index, views, label)`` batches."""
        if self.batched_views:
            return BatchViewCollate(self.recipes, self.image_size, self.seed)
        return default_collate

    def with_recipes(self, recipes):
        """The same images and labels with other view recipes (shares the loaded arrays)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        ViewDataset.__init__(clone, recipes, self.image_size, self.seed)
        return clone


class EmbeddedDataset(ViewDataset):
    """The procedurally generated default (`benchmarks.synthetic`), held in memory as uint8."""

    batched_views = True

    def __init__(self, split: str, spec: SyntheticSpec, recipes=('center',), seed: int = 0, cache_dir=None):
        super().__init__(recipes, spec.image_size, seed)
        root = materialise(spec, cache_dir)
        arrays = np.load(root / f'{split}.npz')
        self.images = torch.from_numpy(np.ascontiguousarray(arrays['images'].transpose(0, 3, 1, 2)))
        self.labels = arrays['labels']
        self.classes = spec.class_names

    def load(self, i):
        return self.images[i]


class ImageFolderDataset(ViewDataset):
    """Any torchvision-ImageFolder layout: ``root/{train,val}/<class>/<image>``.

    Images are decoded as RGB uint8 with torchvision.io and resized/cropped by the view recipes.
    """

    def __init__(self, root, split: str, recipes=('center',), image_size: int = 64, seed: int = 0,
                 classes=None):
        super().__init__(recipes, image_size, seed)
        found, samples = scan_imagefolder(Path(root) / split)
        if classes is not None and found != list(classes):
            raise DataError(f'{Path(root) / split} has classes {found[:5]}... but train/ has {list(classes)[:5]}...; '
                            f'train/ and val/ must contain the same class folders.')
        self.classes = found
        self.paths = [p for p, _ in samples]
        self.labels = np.array([c for _, c in samples], dtype=np.int64)

    def load(self, i):
        path = self.paths[i]
        try:
            return decode_image(str(path), mode=ImageReadMode.RGB)
        except Exception as exc:  # decode errors come as RuntimeError/ValueError depending on format
            raise DataError(f'cannot decode image {path}: {exc}. Remove or replace the file.') from exc


def build_datasets(data_cfg: dict, recipes, seed: int, cache_dir=None):
    """(train, val) datasets from the ``data`` section of a suite config."""
    kind = data_cfg.get('type', 'embedded')
    if kind == 'embedded':
        spec = SyntheticSpec(**{k: v for k, v in data_cfg.items() if k in SyntheticSpec.__dataclass_fields__})
        return (EmbeddedDataset('train', spec, recipes, seed, cache_dir),
                EmbeddedDataset('val', spec, ('center',), seed, cache_dir))
    if kind == 'imagefolder':
        if not data_cfg.get('root'):
            raise DataError('data.type is imagefolder but data.root is empty; pass --data-root DIR.')
        train = ImageFolderDataset(data_cfg['root'], 'train', recipes, data_cfg['image_size'], seed)
        val = ImageFolderDataset(data_cfg['root'], 'val', ('center',), data_cfg['image_size'], seed,
                                 classes=train.classes)
        return train, val
    raise DataError(f"unknown data.type {kind!r}; use 'embedded' or 'imagefolder'.")


@DATA_SAMPLERS.register_module()
class EpochIndexSampler(DefaultSampler):
    """mmengine's DefaultSampler (seeded shuffle per epoch) yielding ``(epoch, index)`` pairs.

    With ``batch_size`` (the per-process batch) it shards by *global batch*: the epoch's permutation is
    cut into global batches of ``batch_size * world_size`` and rank ``r`` takes the ``r``-th contiguous
    block of each (the incomplete last global batch is dropped, as ``drop_last`` does). All-gathering
    a step's keys in rank order then reproduces exactly the single-process batch in the same order, so
    a distributed run's queues hold what a single-process run with the same global batch holds.
    mmengine's default interleaved sharding (``indices[rank::world]``) would give the same images in
    another order. Without ``batch_size`` it behaves like DefaultSampler.
    """

    def __init__(self, dataset, shuffle: bool = True, seed=None, round_up: bool = True,
                 batch_size: int | None = None):
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        self.batch_size = batch_size
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
        epoch = self.epoch
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
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD, channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.float() / 255.0 - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def forward(self, data, training: bool = False):
        index, views, label = self.cast_data(list(data))
        return index, [self.normalise(v) for v in views], label
