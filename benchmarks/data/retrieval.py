"""Datasets of the class-disjoint retrieval protocol: CUB-200-2011, Cars-196, any ImageFolder.

Protocol: Oh Song et al., "Deep Metric Learning via Lifted Structured Feature Embedding", CVPR 2016
(docs/methods.md#retrieval). The classes sorted by id are cut in two (`class_disjoint_split`): the
first half is the train part, the second half the test part, and the datasets' own train/test
splits are ignored. Expected sizes on the original data:

========================  ===============  ================
dataset                   train part       test part
========================  ===============  ================
CUB-200-2011 (11,788)     1-100: 5,864     101-200: 5,924
Cars-196 (16,185)         1-98: 8,054      99-196: 8,131
========================  ===============  ================

Every loader is a `benchmarks.data.datasets.ViewDataset` of one part (``part='test'`` by default, the one
Recall@K is measured on): ``labels`` int64 ``[N]`` are positions in ``classes`` (the part's class
names, in class-id order, so the test part of CUB has labels 0-99 for classes 101-200),
``load(i)`` decodes the image as RGB uint8 ``[3, H, W]`` with torchvision.io, and the view recipes
(``'center'`` for feature extraction) come from the constructor as for every ViewDataset.
Metadata is scanned, and every listed image file checked to exist, before any image is decoded;
problems raise `DataError` saying what is wrong and how to fix it.

The embedded default (and any suite's own val split) needs no loader: benchmarks/evals/suite.py takes
the second half of its classes from the features it already extracted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from benchmarks.data.datasets import ViewDataset
from benchmarks.errors import DataError
from benchmarks.data.imagefolder import decode_rgb
from benchmarks.data.splits import class_disjoint_split
from benchmarks.data.imagefolder import scan_imagefolder

__all__ = ['RetrievalImages', 'CUB200Retrieval', 'Cars196Retrieval', 'ImageFolderRetrieval', 'build_retrieval_dataset',
           'RETRIEVAL_KINDS']

RETRIEVAL_KINDS = ('cub200', 'cars196', 'imagefolder')
PARTS = ('train', 'test')


class RetrievalImages(ViewDataset):
    """One class-disjoint part of a dataset listed as image files (base of the loaders below)."""

    def _select_part(self, name: str, paths: list[Path], class_pos: np.ndarray, class_names: list,
                     part: str, class_ids=None):
        """Keep the images of ``part``; ``class_pos`` [N] are positions in the full ``class_names``."""
        if part not in PARTS:
            raise DataError(f"part must be 'train' or 'test', got {part!r}.")
        num = len(class_names)
        train_idx, test_idx = class_disjoint_split(class_pos, num_classes=num)
        idx, first = (test_idx, num // 2) if part == 'test' else (train_idx, 0)
        last = num if part == 'test' else num // 2
        class_ids = list(range(num)) if class_ids is None else list(class_ids)
        self.part = part
        self.classes = list(class_names[first:last])
        self.class_ids = class_ids[first:last]
        self.paths = [paths[i] for i in idx]
        self.labels = (np.asarray(class_pos, dtype=np.int64)[idx] - first).astype(np.int64)
        if len(self.paths) < 2:
            span = f'{self.class_ids[0]}-{self.class_ids[-1]}' if self.class_ids else 'none'
            raise DataError(f'{name}: the {part} part (the {"second" if part == "test" else "first"} half of '
                            f'the {num} classes sorted by id: classes {span}) holds {len(self.paths)} '
                            f'image(s); retrieval needs at least 2. Check that the dataset is complete '
                            f'and that its class list covers all classes.')
        missing = [p for p in self.paths if not p.is_file()]
        if missing:
            shown = ', '.join(str(p) for p in missing[:3])
            raise DataError(f'{name}: {len(missing)} of the {len(self.paths)} images of the {part} part '
                            f'listed in the metadata do not exist (e.g. {shown}). The archive was '
                            f'probably extracted incompletely or moved; extract it again so the '
                            f'image folder sits next to the metadata files.')

    def load(self, i: int):
        path = self.paths[i]
        try:
            return decode_rgb(path)
        except Exception as exc:  # decoders raise RuntimeError or ValueError depending on the format
            raise DataError(f'cannot decode image {path}: {exc}. Remove or replace the file.') from exc


def _require_dir(root, what: str) -> Path:
    if root is None or str(root) == '':
        raise DataError(f'no {what} root given; pass the folder of the dataset.')
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f'{what} root {root} does not exist or is not a folder; pass the folder that '
                        f'holds the dataset.')
    return root


def _read_pairs(path: Path, name: str) -> list[tuple[int, str]]:
    """``<int id> <text>`` lines of a CUB metadata file (blank lines skipped)."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f'{name}: {path} line {n} is {line!r}, not "<id> <value>". The file is '
                            f'damaged; restore it from the CUB_200_2011.tgz archive.')
        out.append((int(parts[0]), parts[1].strip()))
    return out


class CUB200Retrieval(RetrievalImages):
    """CUB-200-2011 (Wah et al. 2011) in its original layout, one class-disjoint part.

    ``root`` is the folder holding ``CUB_200_2011/`` or that folder itself, which must contain
    ``images.txt`` (``<image_id> <class_dir>/<file>.jpg``), ``image_class_labels.txt``
    (``<image_id> <class_id>``), ``classes.txt`` (``<class_id> <name>``) and ``images/``.
    ``train_test_split.txt`` is ignored, as the retrieval protocol does. Classes 1-100 form the
    train part (5,864 images), 101-200 the test part (5,924).
    """

    FILES = ('images.txt', 'image_class_labels.txt', 'classes.txt')

    def __init__(self, root, part: str = 'test', recipes=('center',), image_size: int = 64, seed: int = 0):
        super().__init__(recipes, image_size, seed)
        root = _require_dir(root, 'CUB-200-2011')
        base = next((d for d in (root / 'CUB_200_2011', root) if (d / 'images.txt').is_file()), None)
        if base is None:
            raise DataError(f'CUB-200-2011: neither {root}/CUB_200_2011/images.txt nor {root}/images.txt '
                            f'exists. Extract CUB_200_2011.tgz and pass the folder that contains '
                            f'CUB_200_2011/ (with images.txt, image_class_labels.txt, classes.txt, images/).')
        absent = [f for f in self.FILES if not (base / f).is_file()]
        absent += [] if (base / 'images').is_dir() else ['images/']
        if absent:
            raise DataError(f'CUB-200-2011: {base} lacks {", ".join(absent)}. The original layout has '
                            f'images.txt, image_class_labels.txt, classes.txt and images/<class_dir>/*.jpg; '
                            f'extract CUB_200_2011.tgz again.')
        images = dict(_read_pairs(base / 'images.txt', 'CUB-200-2011'))
        image_class = _read_pairs(base / 'image_class_labels.txt', 'CUB-200-2011')
        classes = sorted((i, name) for i, name in _read_pairs(base / 'classes.txt', 'CUB-200-2011'))
        if not images or not classes:
            raise DataError(f'CUB-200-2011: {base}/images.txt or classes.txt is empty; extract '
                            f'CUB_200_2011.tgz again.')
        position = {cid: k for k, (cid, _) in enumerate(classes)}
        paths, class_pos = [], []
        for image_id, value in image_class:
            if image_id not in images:
                raise DataError(f'CUB-200-2011: image id {image_id} of image_class_labels.txt is not in '
                                f'images.txt; the metadata files come from different copies, restore both.')
            if not value.isdigit() or int(value) not in position:
                raise DataError(f'CUB-200-2011: image {image_id} has class {value!r}, which classes.txt '
                                f'does not list; the metadata files come from different copies, restore them.')
            paths.append(base / 'images' / images[image_id])
            class_pos.append(position[int(value)])
        if len(paths) != len(images):
            raise DataError(f'CUB-200-2011: images.txt lists {len(images)} images but '
                            f'image_class_labels.txt labels {len(paths)}; restore both files.')
        self.root = base
        self._select_part('CUB-200-2011', paths, np.asarray(class_pos, dtype=np.int64),
                          [name for _, name in classes], part, class_ids=[cid for cid, _ in classes])


def _mat_scalar(value):
    """The single element of a loadmat field (``array([[3]])`` -> 3, ``array(['a.jpg'])`` -> 'a.jpg')."""
    flat = np.ravel(value)
    if flat.size != 1:
        raise ValueError(f'expected one value, got {flat.size}')
    item = flat[0]
    return item.item() if isinstance(item, np.generic) else item


class Cars196Retrieval(RetrievalImages):
    """Stanford Cars-196 (Krause et al. 2013) in its original layout, one class-disjoint part.

    ``root`` holds ``cars_annos.mat`` and ``car_ims/``. The MAT file's struct array ``annotations``
    gives each image's ``relative_im_path`` (``car_ims/000001.jpg``, relative to ``root``) and
    ``class`` (1-196); its ``test`` flag (the classification split) and boxes are ignored; the
    optional cell array ``class_names`` names the classes. Classes 1-98 form the train part
    (8,054 images), 99-196 the test part (8,131).
    """

    def __init__(self, root, part: str = 'test', recipes=('center',), image_size: int = 64, seed: int = 0):
        super().__init__(recipes, image_size, seed)
        from scipy.io import loadmat   # scipy is only needed for this dataset

        root = _require_dir(root, 'Cars-196')
        mat_path = root / 'cars_annos.mat'
        if not mat_path.is_file():
            raise DataError(f'Cars-196: {mat_path} does not exist. Pass the folder that contains '
                            f'cars_annos.mat and car_ims/ (the original car_ims.tgz extracted next to '
                            f'cars_annos.mat).')
        try:
            mat = loadmat(str(mat_path))
        except Exception as exc:  # scipy raises ValueError/TypeError/OSError for non-MAT content
            raise DataError(f'Cars-196: cannot read {mat_path} as a MATLAB file ({exc}); download '
                            f'cars_annos.mat again.') from exc
        ann = mat.get('annotations')
        fields = (ann.dtype.names or ()) if isinstance(ann, np.ndarray) else ()
        if not {'relative_im_path', 'class'} <= set(fields):
            found = sorted(k for k in mat if not k.startswith('__'))
            raise DataError(f'Cars-196: {mat_path} has no struct array "annotations" with fields '
                            f'relative_im_path and class (found variables {found}'
                            f'{", fields " + str(list(fields)) if fields else ""}). Use the cars_annos.mat of '
                            f'the full dataset, not the devkit files cars_train_annos.mat / cars_test_annos.mat.')
        ann = ann.ravel()
        try:
            rel = [str(_mat_scalar(a)) for a in ann['relative_im_path']]
            cls = np.array([int(_mat_scalar(a)) for a in ann['class']], dtype=np.int64)
        except (ValueError, TypeError, IndexError) as exc:
            raise DataError(f'Cars-196: {mat_path}: an annotation has a malformed relative_im_path or '
                            f'class ({exc}); download cars_annos.mat again.') from exc
        if len(cls) == 0:
            raise DataError(f'Cars-196: {mat_path} lists no annotations; download cars_annos.mat again.')
        if 'class_names' in mat:
            names = [str(_mat_scalar(c)) if np.size(c) else '' for c in np.ravel(mat['class_names'])]
        else:
            names = [f'class_{c}' for c in range(1, int(cls.max()) + 1)]
        if cls.min() < 1 or cls.max() > len(names):
            raise DataError(f'Cars-196: {mat_path} has class ids in [{cls.min()}, {cls.max()}] but '
                            f'{len(names)} class names; ids must run 1..{len(names)}. Download '
                            f'cars_annos.mat again.')
        self.root = root
        self._select_part('Cars-196', [root / r for r in rel], cls - 1, names, part,
                          class_ids=list(range(1, len(names) + 1)))


class ImageFolderRetrieval(RetrievalImages):
    """Any ImageFolder layout (one sub-folder of images per class), one class-disjoint part.

    Which images are pooled (classes are the sorted sub-folder names, cut in two by position):

    * ``split=None`` and ``root/train`` + ``root/val`` both exist (the layout of the harness's
      ImageFolder data): all images of both, so each class keeps all its images, as CUB and Cars
      pool their official splits. Both must hold the same class folders.
    * ``split=None`` otherwise: ``root`` itself is the folder of class sub-folders.
    * ``split='val'`` (or a tuple of names): only ``root/<split>`` (pooled when several), e.g. to
      keep retrieval to images the students never trained on.
    """

    def __init__(self, root, part: str = 'test', recipes=('center',), image_size: int = 64, seed: int = 0,
                 split=None):
        super().__init__(recipes, image_size, seed)
        root = _require_dir(root, 'ImageFolder')
        if split is None:
            dirs = [root / 'train', root / 'val'] if (root / 'train').is_dir() and (root / 'val').is_dir() else [root]
        else:
            dirs = [root / s for s in ((split,) if isinstance(split, str) else split)]
            absent = [str(d) for d in dirs if not d.is_dir()]
            if absent:
                raise DataError(f'ImageFolder retrieval: {", ".join(absent)} does not exist; pass a split '
                                f'that is a sub-folder of {root}, or split=None to use {root} itself.')
        classes, paths, class_pos = None, [], []
        for d in dirs:
            found, samples = scan_imagefolder(d)
            if classes is not None and found != classes:
                raise DataError(f'ImageFolder retrieval: {d} has classes {found[:5]}... but {dirs[0]} has '
                                f'{classes[:5]}...; the pooled folders must contain the same class folders.')
            classes = found
            paths += [p for p, _ in samples]
            class_pos += [c for _, c in samples]
        self.root = root
        self._select_part(f'ImageFolder {root}', paths, np.asarray(class_pos, dtype=np.int64), classes, part)


def build_retrieval_dataset(kind: str, root, image_size: int = 64, seed: int = 0, *, part: str = 'test',
                            recipes=('center',), split=None) -> RetrievalImages:
    """The ``part`` ('test' by default) of a retrieval dataset: kind in {'cub200', 'cars196', 'imagefolder'}.

    ``split`` applies to ``'imagefolder'`` only (see `ImageFolderRetrieval`).
    """
    if kind == 'cub200':
        cls = CUB200Retrieval
    elif kind == 'cars196':
        cls = Cars196Retrieval
    elif kind == 'imagefolder':
        return ImageFolderRetrieval(root, part, recipes, image_size, seed, split=split)
    else:
        raise DataError(f'unknown retrieval dataset {kind!r}; use one of {", ".join(RETRIEVAL_KINDS)}.')
    if split is not None:
        raise DataError(f'split={split!r} applies to the imagefolder kind only; {kind} always uses '
                        f'all its images, cut by class.')
    return cls(root, part, recipes, image_size, seed)
