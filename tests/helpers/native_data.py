"""Tiny copies of the public datasets in their *native* on-disk formats (as the official archives unpack
them), for the readers of `benchmarks.data.cifar`, `benchmarks.data.stl10` and `benchmarks.data.imagenet`.

Each writer returns what it wrote, so tests compare what the readers give back exactly:

    write_cifar(root, kind)            cifar-100-python/ or cifar-10-batches-py/ (pickle batches, protocol 2)
    write_stl10(root, ...)             stl10_binary/ (column-major binaries, labels 1..10)
    write_tiny_imagenet(root, ...)     tiny-imagenet-200/ (wnids.txt, train/<wnid>/images, val/images + annotations)
    write_imagenet(root, wnids, ...)   train/<wnid>/*.JPEG and val/ in class folders or flat with a label file
    make_imagenet100_symlinks(...)     a subset root whose class folders are symbolic links to a full ImageNet
    smooth_image(rng, h, w)            a low-frequency RGB image (survives JPEG almost unchanged)
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

CIFAR_SIDE = 32
STL_SIDE = 96
STL_CLASSES = ('airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck')


# --- CIFAR -------------------------------------------------------------------------------------------
def _cifar_batch(images, labels, labels_key, label, coarse=False):
    n = len(images)
    batch = {b'batch_label': label.encode(),
             labels_key: [int(y) for y in labels],
             b'data': images.reshape(n, 3 * CIFAR_SIDE * CIFAR_SIDE).copy(),   # R plane, G plane, B plane
             b'filenames': [f'img_{k:05d}.png'.encode() for k in range(n)]}
    if coarse:
        batch[b'coarse_labels'] = [int(y) % 20 for y in labels]
    return batch


def _dump(path: Path, obj) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar(root, kind: str = 'cifar100', n_train: int = 12, n_test: int = 6, seed: int = 0) -> dict:
    """CIFAR-10 / CIFAR-100 python batches under ``root``. Returns ``dict(train=(images uint8
    [N, 3, 32, 32], labels int64 [N]), test=(...), classes=[names], folder=Path)``. CIFAR-10's train
    images are spread over ``data_batch_1`` .. ``data_batch_5`` in order (some may be empty when
    ``n_train < 5``)."""
    if kind not in ('cifar10', 'cifar100'):
        raise ValueError(kind)
    rng = np.random.default_rng(seed)
    n_classes = 100 if kind == 'cifar100' else 10
    classes = [f'class_{c:03d}' for c in range(n_classes)]
    out = dict(classes=classes)
    for split, n in (('train', n_train), ('test', n_test)):
        images = rng.integers(0, 256, size=(n, 3, CIFAR_SIDE, CIFAR_SIDE), dtype=np.uint8)
        labels = rng.integers(0, n_classes, size=n).astype(np.int64)
        out[split] = (images, labels)
    root = Path(root)
    if kind == 'cifar100':
        folder = root / 'cifar-100-python'
        folder.mkdir(parents=True, exist_ok=True)
        for split in ('train', 'test'):
            _dump(folder / split, _cifar_batch(*out[split], b'fine_labels', f'{split}ing batch 1 of 1',
                                               coarse=True))
        _dump(folder / 'meta', {b'fine_label_names': [c.encode() for c in classes],
                                b'coarse_label_names': [f'super_{c:02d}'.encode() for c in range(20)]})
    else:
        folder = root / 'cifar-10-batches-py'
        folder.mkdir(parents=True, exist_ok=True)
        images, labels = out['train']
        parts = np.array_split(np.arange(len(labels)), 5)
        for b, idx in enumerate(parts, start=1):
            _dump(folder / f'data_batch_{b}', _cifar_batch(images[idx], labels[idx], b'labels',
                                                           f'training batch {b} of 5'))
        _dump(folder / 'test_batch', _cifar_batch(*out['test'], b'labels', 'testing batch 1 of 1'))
        _dump(folder / 'batches.meta', {b'label_names': [c.encode() for c in classes],
                                        b'num_cases_per_batch': 10000, b'num_vis': 3072})
    out['folder'] = folder
    return out


# --- STL-10 ------------------------------------------------------------------------------------------
def smooth_image(rng, h: int, w: int) -> np.ndarray:
    """uint8 [3, h, w]: per channel a random linear gradient plus a slow sinusoid (no high frequencies)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(3):
        a, b = rng.uniform(-1, 1, size=2)
        phase, f = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.5)
        v = 128 + 60 * (a * (x / w - 0.5) + b * (y / h - 0.5)) + 40 * np.sin(2 * np.pi * f * (x + y) / (w + h) + phase)
        chans.append(v)
    return np.clip(np.round(np.stack(chans)), 0, 255).astype(np.uint8)


def _stl_bytes(images: np.ndarray) -> bytes:
    """[N, 3, rows, cols] -> the file's bytes: each channel column-major (``img[c].T`` row-major)."""
    return np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes()


def write_stl10(root, n_train: int = 3, n_test: int = 2, n_unlabeled: int = 4, seed: int = 0,
                smooth: bool = False) -> dict:
    """``root/stl10_binary/`` with the six files of the binary archive. Returns ``dict(train=(images uint8
    [N, 3, 96, 96] row-major, labels 0..9), test=(...), unlabeled=images, classes, folder)``.
    ``smooth``: low-frequency images (for resize comparisons) instead of uniform noise."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / 'stl10_binary'
    folder.mkdir(parents=True, exist_ok=True)

    def images(n):
        if smooth:
            return np.stack([smooth_image(rng, STL_SIDE, STL_SIDE) for _ in range(n)]) if n else \
                np.zeros((0, 3, STL_SIDE, STL_SIDE), np.uint8)
        return rng.integers(0, 256, size=(n, 3, STL_SIDE, STL_SIDE), dtype=np.uint8)

    out = dict(classes=list(STL_CLASSES), folder=folder)
    for split, n in (('train', n_train), ('test', n_test)):
        x = images(n)
        y = np.arange(n, dtype=np.int64) % 10            # every class once before repeating
        y = y[rng.permutation(n)]
        (folder / f'{split}_X.bin').write_bytes(_stl_bytes(x))
        (folder / f'{split}_y.bin').write_bytes((y + 1).astype(np.uint8).tobytes())
        out[split] = (x, y)
    out['unlabeled'] = images(n_unlabeled)
    (folder / 'unlabeled_X.bin').write_bytes(_stl_bytes(out['unlabeled']))
    (folder / 'class_names.txt').write_text('\n'.join(STL_CLASSES) + '\n')
    return out


# --- JPEG files --------------------------------------------------------------------------------------
def _save_jpeg(path: Path, img: np.ndarray) -> None:
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img.transpose(1, 2, 0)).save(path, format='JPEG', quality=95)


def wnid(k: int) -> str:
    """A WordNet-id-shaped class name: 'n' + 8 digits."""
    return f'n{k:08d}'


# --- Tiny-ImageNet -----------------------------------------------------------------------------------
def write_tiny_imagenet(root, classes: int = 3, per_class: int = 2, val_per_class: int = 2, seed: int = 0) -> dict:
    """``root/tiny-imagenet-200/`` as its zip unpacks. ``wnids.txt`` lists the classes in a non-sorted
    order (as the official one does); val images are numbered in an order that interleaves the classes.
    Returns ``dict(classes=sorted wnids, train=[(path, label)], val=[(path, label)], pixels={path: source
    uint8 [3, 64, 64]}, folder)``, labels = position in the sorted wnids."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / 'tiny-imagenet-200'
    folder.mkdir(parents=True, exist_ok=True)
    names = [wnid(1000 + 7 * k) for k in range(classes)]
    listed = names[::-1]                                    # not sorted
    (folder / 'wnids.txt').write_text('\n'.join(listed) + '\n')
    (folder / 'words.txt').write_text(''.join(f'{w}\tthing number {k}, object\n' for k, w in enumerate(names))
                                      + 'n99999999\tan unused synset\n')
    (folder / 'test' / 'images').mkdir(parents=True, exist_ok=True)
    sorted_names = sorted(names)
    label = {w: i for i, w in enumerate(sorted_names)}
    out = dict(classes=sorted_names, train=[], val=[], pixels={}, folder=folder)
    for w in listed:
        boxes = []
        for k in range(per_class):
            path = folder / 'train' / w / 'images' / f'{w}_{k}.JPEG'
            img = smooth_image(rng, 64, 64)
            _save_jpeg(path, img)
            out['train'].append((path, label[w]))
            out['pixels'][path] = img
            boxes.append(f'{w}_{k}.JPEG\t{k}\t{k + 1}\t{40 + k}\t{50 + k}\n')
        (folder / 'train' / w / f'{w}_boxes.txt').write_text(''.join(boxes))
    val_classes = [w for _ in range(val_per_class) for w in listed]   # interleaved classes
    notes = []
    for k, w in enumerate(val_classes):
        path = folder / 'val' / 'images' / f'val_{k}.JPEG'
        img = smooth_image(rng, 64, 64)
        _save_jpeg(path, img)
        out['val'].append((path, label[w]))
        out['pixels'][path] = img
        notes.append(f'val_{k}.JPEG\t{w}\t{k}\t{2 * k}\t{30 + k}\t{60 - k}\n')
    (folder / 'val' / 'val_annotations.txt').write_text(''.join(notes))
    return out


# --- ImageNet ----------------------------------------------------------------------------------------
LABEL_FILES = ('loc_csv', 'devkit', 'val_txt_int', 'val_txt_wnid')


def _write_devkit(data_dir: Path, wnids_sorted, truth_wnids) -> Path:
    """``ILSVRC2012_devkit_t12/data/{meta.mat, ILSVRC2012_validation_ground_truth.txt}``: the leaf IDs
    follow the *reverse* sorted wnid order (so ID order != sorted order) and one non-leaf synset, with
    the ID after the leaves, has the leaves as children."""
    from scipy.io import savemat
    data_dir.mkdir(parents=True, exist_ok=True)
    n = len(wnids_sorted)
    ids = {w: n - i for i, w in enumerate(wnids_sorted)}            # reverse order: IDs 1..n
    fields = ['ILSVRC2012_ID', 'WNID', 'words', 'gloss', 'num_children', 'children', 'wordnet_height',
              'num_train_images']
    synsets = np.zeros((n + 1, 1), dtype=[(f, object) for f in fields])
    for row, w in enumerate(sorted(wnids_sorted, key=lambda w: ids[w])):
        synsets[row, 0] = (np.array([[ids[w]]], dtype=np.uint16), w, f'words of {w}', f'gloss of {w}',
                           np.array([[0]], dtype=np.uint8), np.zeros((1, 0), dtype=np.uint8),
                           np.array([[0]], dtype=np.uint8), np.array([[10]], dtype=np.uint16))
    synsets[n, 0] = (np.array([[n + 1]], dtype=np.uint16), 'n99999999', 'entity', 'a non-leaf synset',
                     np.array([[n]], dtype=np.uint8), np.arange(1, n + 1, dtype=np.uint16)[None],
                     np.array([[1]], dtype=np.uint8), np.array([[0]], dtype=np.uint16))
    savemat(str(data_dir / 'meta.mat'), {'synsets': synsets})
    truth = data_dir / 'ILSVRC2012_validation_ground_truth.txt'
    truth.write_text(''.join(f'{ids[w]}\n' for w in truth_wnids))
    return truth


def write_imagenet(root, wnids, per_class: int = 2, val_per_class: int = 1, val_layout: str = 'folders',
                   label_file: str = 'loc_csv', labels_at=None, seed: int = 0, size=(20, 24)) -> dict:
    """An ImageNet-shaped folder: ``train/<wnid>/<wnid>_<k>.JPEG`` and ``val/`` either in class folders
    (``val_layout='folders'``) or flat (``'flat'``: ``val/ILSVRC2012_val_%08d.JPEG``, classes shuffled)
    with ``label_file`` one of `LABEL_FILES`, written under ``labels_at`` (default ``root``; the devkit's
    nested folders included). Returns ``dict(classes=sorted wnids, train=[(path, label)], val=[(path,
    label)], label_file=Path or None)``, label = position in the sorted wnids."""
    if val_layout not in ('folders', 'flat') or label_file not in LABEL_FILES:
        raise ValueError((val_layout, label_file))
    rng = np.random.default_rng(seed)
    root = Path(root)
    classes = sorted(wnids)
    pos = {w: i for i, w in enumerate(classes)}
    h, w_ = size
    out = dict(classes=classes, train=[], val=[], label_file=None)
    for w in wnids:
        for k in range(per_class):
            path = root / 'train' / w / f'{w}_{k}.JPEG'
            _save_jpeg(path, smooth_image(rng, h, w_))
            out['train'].append((path, pos[w]))
    val_wnids = [w for w in wnids for _ in range(val_per_class)]
    if val_layout == 'folders':
        for k, w in enumerate(val_wnids):
            path = root / 'val' / w / f'ILSVRC2012_val_{k + 1:08d}.JPEG'
            _save_jpeg(path, smooth_image(rng, h, w_))
            out['val'].append((path, pos[w]))
        return out
    val_wnids = [val_wnids[i] for i in rng.permutation(len(val_wnids))]
    names = []
    for k, w in enumerate(val_wnids, start=1):
        path = root / 'val' / f'ILSVRC2012_val_{k:08d}.JPEG'
        _save_jpeg(path, smooth_image(rng, h, w_))
        out['val'].append((path, pos[w]))
        names.append(path.name)
    where = Path(labels_at) if labels_at is not None else root
    where.mkdir(parents=True, exist_ok=True)
    if label_file == 'loc_csv':
        rows = [f'{Path(n).stem},{w} {k} {k + 1} {k + 20} {k + 21} {w} 0 0 5 5\n'
                for k, (n, w) in enumerate(zip(names, val_wnids))]
        rows = [rows[i] for i in rng.permutation(len(rows))]               # the Kaggle file is not sorted
        path = where / 'LOC_val_solution.csv'
        path.write_text('ImageId,PredictionString\n' + ''.join(rows))
    elif label_file == 'devkit':
        path = _write_devkit(where / 'ILSVRC2012_devkit_t12' / 'data', classes, val_wnids)
    else:
        path = where / 'val.txt'
        path.write_text(''.join(f'{n} {pos[w] if label_file == "val_txt_int" else w}\n'
                                for n, w in zip(names, val_wnids)))
    out['label_file'] = path
    return out


def make_imagenet100_symlinks(full_root, out_root, wnids) -> Path:
    """``out_root/{train,val}/<wnid>`` as symbolic links to ``full_root``'s class folders (the usual way
    an ImageNet-100 copy is made without duplicating images)."""
    full_root, out_root = Path(full_root), Path(out_root)
    for split in ('train', 'val'):
        (out_root / split).mkdir(parents=True, exist_ok=True)
        for w in wnids:
            os.symlink((full_root / split / w).resolve(), out_root / split / w, target_is_directory=True)
    return out_root
