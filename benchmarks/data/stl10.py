"""STL-10 read from the binary files of ``stl10_binary.tar.gz``, as the official archive unpacks them.

Coates, Lee, Ng, "An Analysis of Single-Layer Networks in Unsupervised Feature Learning", AISTATS 2011
(https://cs.stanford.edu/~acoates/stl10/). ``stl10_binary/`` holds:

==================  =======================================================================
file                content
==================  =======================================================================
``train_X.bin``     5,000 labelled images; ``train_y.bin`` their labels (one byte each, 1-10)
``test_X.bin``      8,000 labelled images; ``test_y.bin``
``unlabeled_X.bin`` 100,000 unlabelled images (made for unsupervised / self-supervised training)
``class_names.txt`` the 10 class names, one per line, in label order
==================  =======================================================================

An image is 3 x 96 x 96 bytes, each channel stored column-major (Fortran order, the archive was
written from MATLAB), so a file is read as ``[N, 3, 96(x), 96(y)]`` and transposed to ``[N, 3, y, x]``.
The files are memory-mapped, not read: the unlabelled split is 2.8 GB.

The STL-10 protocol: self-supervised (student and teacher) training on ``unlabeled``; probes and
kNN fit on ``train``; evaluation on ``test``. The ten pre-defined training folds
(``fold_indices.txt``) of the supervised protocol are not used. Structure is checked (sizes are a
whole number of images, one label per labelled image, labels in 1-10), not the archive's checksum,
so a generated copy with fewer images loads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.data.layout import locate
from benchmarks.errors import DataError

FOLDER = 'stl10_binary'
SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE
NUM_CLASSES = 10
SPLITS = {'train': ('train_X.bin', 'train_y.bin'), 'test': ('test_X.bin', 'test_y.bin'),
          'unlabeled': ('unlabeled_X.bin', None)}
CLASS_NAMES = ('airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck')
EXPECTED = ('STL-10 as the official archive stl10_binary.tar.gz unpacks it: a folder stl10_binary/ holding '
            'train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin and class_names.txt. Pass the '
            'folder that contains stl10_binary/ (or stl10_binary/ itself) with --data-root DIR; nothing is '
            'downloaded')


def stl10_dir(root, splits=('train', 'test', 'unlabeled')) -> Path:
    """The folder holding the binaries: ``root/stl10_binary`` or ``root``; every file of ``splits`` present."""
    return locate(root, FOLDER, ('train_X.bin', 'unlabeled_X.bin'), [n for s in splits for n in SPLITS[s] if n],
                  'STL-10', EXPECTED)


def image_count(path: Path) -> int:
    """Images in an ``*_X.bin`` file (its size must be a whole number of 27,648-byte images)."""
    size = path.stat().st_size
    if size == 0 or size % IMAGE_BYTES:
        raise DataError(f'{path} has {size} bytes, not a whole number of {IMAGE_BYTES}-byte images (3 x 96 x 96); '
                        f'the file is truncated or not an STL-10 binary. Extract the archive again.')
    return size // IMAGE_BYTES


def read_images(folder: Path, split: str) -> np.ndarray:
    """uint8 ``[N, 3, 96, 96]`` (channel, row, column) of ``split``: a read-only memory-mapped view."""
    path = folder / SPLITS[split][0]
    n = image_count(path)
    raw = np.memmap(path, dtype=np.uint8, mode='r', shape=(n, 3, SIDE, SIDE))
    return raw.transpose(0, 1, 3, 2)


def read_labels(folder: Path, split: str) -> np.ndarray:
    """int64 ``[N]`` labels 0-9 of a labelled split (the file's 1-10, minus one)."""
    x_name, y_name = SPLITS[split]
    if y_name is None:
        raise ValueError(f'the {split} split has no labels')
    n = image_count(folder / x_name)
    y = np.fromfile(folder / y_name, dtype=np.uint8).astype(np.int64)
    if len(y) != n:
        raise DataError(f'{folder / y_name} holds {len(y)} labels but {folder / x_name} {n} images; one label byte '
                        f'per image is expected. Extract the archive again.')
    if y.min() < 1 or y.max() > NUM_CLASSES:
        raise DataError(f'{folder / y_name}: labels must lie in 1-{NUM_CLASSES}, found {y.min()}-{y.max()}. '
                        f'Is this the STL-10 archive?')
    return y - 1


def read_classes(folder: Path) -> list[str]:
    """The names of ``class_names.txt`` (the official ten when the file is absent)."""
    path = folder / 'class_names.txt'
    if not path.is_file():
        return list(CLASS_NAMES)
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(names) != NUM_CLASSES:
        raise DataError(f'{path} names {len(names)} classes; STL-10 has {NUM_CLASSES}, one per line. Extract the '
                        f'archive again or delete the file to use the official names.')
    return names
