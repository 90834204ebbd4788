"""The dataset kinds a suite can train on (``data.type``) and how each becomes its splits.

==================  ==========================================  ======================  ============  ==========
``data.type``       files (``data.root`` / ``--data-root``)     training split          probes, kNN   evaluation
==================  ==========================================  ======================  ============  ==========
``embedded``        none: generated into the cache              train                   train         val
``imagefolder``     ``train/<class>/``, ``val/<class>/``        train                   train         val
``cifar10``         ``cifar-10-batches-py/`` (pickle batches)   train (50,000)          train         test
``cifar100``        ``cifar-100-python/`` (pickle batches)      train (50,000)          train         test
``stl10``           ``stl10_binary/`` (binaries)                unlabeled (100,000)     train (5,000)  test
``imagenet``        ``train/``, ``val/`` (folders or flat)      train                   train         val
``imagenet100``     ImageNet, the 100 listed classes            train (126,689)         train         val
``tiny_imagenet``   ``tiny-imagenet-200/``                      train (100,000)         train         val
==================  ==========================================  ======================  ============  ==========

The *training split* is what the methods (and a teacher trained here) learn from; the linear probe,
kNN bank and CA's k-means fit on the *probe* split; kNN, linear and CA accuracy and the retrieval
Recall@K (second half of the classes, `benchmarks.data.splits`) are measured on the *evaluation*
split. They differ only for STL-10, whose protocol trains without labels on ``unlabeled``
(``data.train_split='train+unlabeled'`` adds the 5,000 labelled images, as some papers do).

CIFAR and STL-10 are held in memory (STL-10 memory-mapped) as uint8 and get the batched views; the
ImageNet kinds are decoded per sample. Every kind checks the structure of its files before anything
is trained (`training_images`) and reads them as distributed: nothing is downloaded or converted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from benchmarks.errors import DataError


class Splits(NamedTuple):
    train: object        # what the methods and a trained teacher learn from
    val: object          # the evaluation split
    probe: object        # where probes, the kNN bank and CA's k-means fit (= train unless train is unlabelled)
    description: str     # one line naming the dataset and the role of each split, for captions and logs


@dataclass(frozen=True)
class DataKind:
    title: str
    layout: str                                  # what data.root must contain
    count: Callable[[dict], int]                 # structure check -> training images (no decoding)
    build: Callable[..., Splits]                  # (data_cfg, recipes, seed, cache_dir) -> Splits


def _n(x: int) -> str:
    return f'{x:,}'


def describe(title: str, root, train, val, probe) -> str:
    """``'CIFAR-100 (/data): train 50,000 ... / test 10,000 ...'``: what each split is used for."""
    c = len(val.classes)
    where = f' ({root})' if root else ''
    if probe is train:
        first = f'{train.name} {_n(len(train))} (training, probes, kNN bank, CA clustering)'
    else:
        first = (f'{train.name} {_n(len(train))} (training) + {probe.name} {_n(len(probe))} (probes, kNN bank, '
                 f'CA clustering)')
    return (f'{title}{where}: {first} / {val.name} {_n(len(val))} (kNN, linear and CA accuracy; retrieval on its '
            f'classes {c // 2}-{c - 1})')


def _root(data_cfg: dict, kind: str) -> Path:
    root = data_cfg.get('root')
    if not root:
        raise DataError(f'data.type={kind!r} trains on {KINDS[kind].title} and no dataset folder was given. Pass it '
                        f'with --data-root DIR: {KINDS[kind].layout}.')
    return Path(root)


def _checks(data_cfg: dict) -> dict:
    return dict(verify=data_cfg.get('verify_images') or 'header', on_corrupt=data_cfg.get('on_corrupt') or 'fail')


DECODE = ('full', 'crop', 'dali')
# budget.views_on: where batched views are made (benchmarks.engine.runner.views_on_device)
VIEWS_ON = ('auto', 'loader', 'device')


def _decode(data_cfg: dict) -> dict:
    """``data.decode``: 'full' (decode every file at full size, torchvision transforms per sample), 'crop'
    (decode into the views' crops at a reduced JPEG scale, the rest batched: `benchmarks.data.crops`) or
    'dali' (NVIDIA DALI decodes and crops, on the training GPU: `benchmarks.data.dali`)."""
    mode = data_cfg.get('decode') or 'full'
    if mode not in DECODE:
        raise DataError(f"data.decode={mode!r} is not a decode mode; use 'full', 'crop' or 'dali'.")
    if mode == 'dali':
        from benchmarks.data.dali import INSTALL, dali_installed
        if not dali_installed():
            raise DataError(f"data.decode='dali' needs NVIDIA DALI, which is not installed: {INSTALL}.")
    return dict(decode=mode)


# --- embedded ----------------------------------------------------------------------------------------
def _spec(data_cfg):
    from benchmarks.data.synthetic import SyntheticSpec
    return SyntheticSpec(**{k: v for k, v in data_cfg.items() if k in SyntheticSpec.__dataclass_fields__})


def _embedded_count(data_cfg):
    spec = _spec(data_cfg)
    return spec.num_classes * spec.train_per_class


def _embedded_build(data_cfg, recipes, seed, cache_dir=None):
    from benchmarks.data.datasets import EmbeddedDataset
    spec = _spec(data_cfg)
    train = EmbeddedDataset('train', spec, recipes, seed, cache_dir)
    val = EmbeddedDataset('val', spec, ('center',), seed, cache_dir)
    return Splits(train, val, train, describe('embedded shapes', None, train, val, train))


# --- ImageFolder -------------------------------------------------------------------------------------
def _imagefolder_count(data_cfg):
    from benchmarks.data.imagefolder import check_options, verify_split
    root = _root(data_cfg, 'imagefolder')
    if not root.is_dir():
        raise DataError(f'--data-root {root} is not a directory. Pass the folder that contains train/ and val/.')
    checks = _checks(data_cfg)
    check_options(checks['verify'], checks['on_corrupt'])
    n_train = len(verify_split(root / 'train', checks['verify'], checks['on_corrupt'])[1])
    verify_split(root / 'val', checks['verify'], checks['on_corrupt'])
    return n_train


def _imagefolder_build(data_cfg, recipes, seed, cache_dir=None):
    from benchmarks.data.datasets import ImageFolderDataset
    root, size = _root(data_cfg, 'imagefolder'), data_cfg['image_size']
    opts = dict(_checks(data_cfg), **_decode(data_cfg))
    train = ImageFolderDataset(root, 'train', recipes, size, seed, **opts)
    val = ImageFolderDataset(root, 'val', ('center',), size, seed, classes=train.classes, **opts)
    train.name, val.name = 'train', 'val'
    return Splits(train, val, train, describe('ImageFolder', root, train, val, train))


# --- CIFAR -------------------------------------------------------------------------------------------
def _cifar(kind):
    def count(data_cfg):
        from benchmarks.data.cifar import cifar_dir, read_classes, read_split
        folder = cifar_dir(_root(data_cfg, kind), kind)
        read_classes(folder, kind)
        read_split(folder, kind, 'test')
        return len(read_split(folder, kind, 'train')[1])

    def build(data_cfg, recipes, seed, cache_dir=None):
        import torch

        from benchmarks.data.cifar import KINDS as CIFAR, cifar_dir, read_classes, read_split
        from benchmarks.data.datasets import ArrayDataset
        root = _root(data_cfg, kind)
        folder = cifar_dir(root, kind)
        classes, size, title = read_classes(folder, kind), data_cfg['image_size'], CIFAR[kind]['title']
        sets = {}
        for split, rec in (('train', recipes), ('test', ('center',))):
            x, y = read_split(folder, kind, split)
            sets[split] = ArrayDataset(torch.from_numpy(x), y, classes, rec, size, seed, name=split)
        return Splits(sets['train'], sets['test'], sets['train'],
                      describe(title, root, sets['train'], sets['test'], sets['train']))
    return count, build


# --- STL-10 ------------------------------------------------------------------------------------------
TRAIN_SPLITS = ('unlabeled', 'train+unlabeled')


class _Concat:
    """Two image arrays indexed as one (the labelled train images, then the memory-mapped unlabelled ones)."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __len__(self):
        return len(self.first) + len(self.second)

    def __getitem__(self, i):
        return self.first[i] if i < len(self.first) else self.second[i - len(self.first)]


def _stl_train_split(data_cfg) -> str:
    split = data_cfg.get('train_split') or 'unlabeled'
    if split not in TRAIN_SPLITS:
        raise DataError(f"data.train_split={split!r} is not an STL-10 training split; use 'unlabeled' (the "
                        f"STL-10 protocol) or 'train+unlabeled' (adds the 5,000 labelled images).")
    return split


def _stl_count(data_cfg):
    from benchmarks.data.stl10 import image_count, read_classes, read_labels, stl10_dir
    split = _stl_train_split(data_cfg)
    folder = stl10_dir(_root(data_cfg, 'stl10'))
    read_classes(folder)
    n_train = len(read_labels(folder, 'train'))
    read_labels(folder, 'test')
    n_unlabeled = image_count(folder / 'unlabeled_X.bin')
    return n_unlabeled + (n_train if split == 'train+unlabeled' else 0)


def _stl_build(data_cfg, recipes, seed, cache_dir=None):
    from benchmarks.data.datasets import ArrayDataset
    from benchmarks.data.stl10 import read_classes, read_images, read_labels, stl10_dir
    split = _stl_train_split(data_cfg)
    root = _root(data_cfg, 'stl10')
    folder = stl10_dir(root)
    classes, size = read_classes(folder), data_cfg['image_size']
    labelled = {s: (read_images(folder, s), read_labels(folder, s)) for s in ('train', 'test')}
    unlabeled = read_images(folder, 'unlabeled')
    images = unlabeled if split == 'unlabeled' else _Concat(labelled['train'][0], unlabeled)
    # the training split is used without labels (-1): probes and `supervised` read the labelled train split
    train = ArrayDataset(images, np.full(len(images), -1, dtype=np.int64), classes, recipes, size, seed, name=split)
    probe = ArrayDataset(*labelled['train'], classes, ('center',), size, seed, name='train')
    val = ArrayDataset(*labelled['test'], classes, ('center',), size, seed, name='test')
    return Splits(train, val, probe, describe('STL-10', root, train, val, probe))


# --- ImageNet, ImageNet-100, Tiny-ImageNet -----------------------------------------------------------
def _imagenet_lists(data_cfg, kind):
    """(classes, train samples, val samples, where) of the ImageNet kinds."""
    from benchmarks.data import imagenet as inet
    root = _root(data_cfg, kind)
    if not root.is_dir():
        raise DataError(f'--data-root {root} is not a directory. Expected {KINDS[kind].layout}.')
    if kind == 'tiny_imagenet':
        folder = inet.tiny_dir(root)
        classes = inet.tiny_classes(folder)
        return classes, inet.tiny_train(folder, classes), inet.tiny_val(folder, classes), folder
    wanted = None
    if kind == 'imagenet100':
        wanted = inet.read_class_list(data_cfg.get('classes_file') or inet.IMAGENET100_CMC)
    all_classes, classes, train = inet.imagenet_train(root, wanted)
    return classes, train, inet.imagenet_val(root, classes, all_classes, data_cfg.get('val_labels')), root


def _files(kind):
    def count(data_cfg):
        from benchmarks.data.imagefolder import apply_corrupt_policy, check_images, check_options
        checks = _checks(data_cfg)
        check_options(checks['verify'], checks['on_corrupt'])
        _, train, val, where = _imagenet_lists(data_cfg, kind)
        kept = apply_corrupt_policy(train, check_images(train, checks['verify']), checks['on_corrupt'],
                                    f'{where} (train)')[0]
        apply_corrupt_policy(val, check_images(val, checks['verify']), checks['on_corrupt'], f'{where} (val)')
        return len(kept)

    def build(data_cfg, recipes, seed, cache_dir=None):
        from benchmarks.data.datasets import ImageFilesDataset
        classes, train_s, val_s, where = _imagenet_lists(data_cfg, kind)
        size, checks = data_cfg['image_size'], dict(_checks(data_cfg), **_decode(data_cfg))
        train = ImageFilesDataset(train_s, classes, Path(where) / 'train', recipes, size, seed, name='train', **checks)
        val = ImageFilesDataset(val_s, classes, Path(where) / 'val', ('center',), size, seed, name='val', **checks)
        return Splits(train, val, train, describe(KINDS[kind].title, data_cfg['root'], train, val, train))
    return count, build


_INET = ('a folder with train/<wnid>/ and val/ (class folders, or flat ILSVRC2012_val_*.JPEG with '
         'LOC_val_solution.csv, the devkit ground truth or val.txt; data.val_labels=FILE names another)')
KINDS: dict[str, DataKind] = {
    'embedded': DataKind('embedded shapes', 'nothing: generated into the cache', _embedded_count, _embedded_build),
    'imagefolder': DataKind('an ImageFolder dataset', 'train/<class>/ and val/<class>/ with the images',
                            _imagefolder_count, _imagefolder_build),
    'cifar10': DataKind('CIFAR-10', 'the folder holding cifar-10-batches-py/, the python version', *_cifar('cifar10')),
    'cifar100': DataKind('CIFAR-100', 'the folder holding cifar-100-python/, the python version', *_cifar('cifar100')),
    'stl10': DataKind('STL-10', 'the folder holding stl10_binary/, the binary version', _stl_count, _stl_build),
    'imagenet': DataKind('ImageNet-1k', _INET, *_files('imagenet')),
    'imagenet100': DataKind('ImageNet-100', _INET + '; only the 100 listed classes are read (data.classes_file, '
                            'default the CMC list)', *_files('imagenet100')),
    'tiny_imagenet': DataKind('Tiny-ImageNet', 'the folder holding tiny-imagenet-200/ as the zip unpacks it',
                              *_files('tiny_imagenet')),
}


def _kind(data_cfg: dict) -> str:
    kind = data_cfg.get('type', 'embedded')
    if kind not in KINDS:
        raise DataError(f"unknown data.type {kind!r}; use one of {', '.join(repr(k) for k in KINDS)}.")
    return kind


def training_images(data_cfg: dict) -> int:
    """Images in the training split, after checking the dataset's files (structure, and for the image
    files the ``data.verify_images`` check); raises `DataError` naming what is missing or wrong."""
    return KINDS[_kind(data_cfg)].count(dict(data_cfg))


def build_datasets(data_cfg: dict, recipes, seed: int, cache_dir=None) -> Splits:
    """The `Splits` of the ``data`` section of a suite config: ``train`` with view ``recipes``, ``val``
    and ``probe`` with the centre view."""
    return KINDS[_kind(data_cfg)].build(dict(data_cfg), recipes, seed, cache_dir)
