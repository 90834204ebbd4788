"""ImageNet-1k, ImageNet-100 and Tiny-ImageNet listed from their folders as distributed: ``(path, label)``
samples for `benchmarks.data.datasets.ImageFilesDataset`. Nothing is copied or converted.

**ImageNet** (``imagenet``; ILSVRC2012, Russakovsky et al., IJCV 2015): ``root/train/<wnid>/*.JPEG``
(1,281,167 images, 1,000 classes) and ``root/val/`` either in class folders (``val/<wnid>/*.JPEG``, as
the common ``valprep.sh`` leaves it) or *flat*, as the validation archive unpacks it
(``val/ILSVRC2012_val_00000001.JPEG`` ... ``_00050000``) with its labels from one of (searched in this
order under ``root``, or named by ``data.val_labels``):

* ``LOC_val_solution.csv`` (the Kaggle ImageNet localisation download): ``ImageId,PredictionString``,
  the class is the first word of the prediction string;
* ``ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt`` (the devkit): one ILSVRC2012_ID
  per line for image 1, 2, ...; the IDs are mapped to wnids by ``meta.mat`` next to it (read with scipy,
  the leaf synsets, as torchvision's ``parse_devkit_archive``);
* ``val.txt`` or any two-column text file: ``<file name> <label>`` per line, the label a wnid or an
  integer that indexes the sorted class folders of ``train/`` (Caffe's ``ilsvrc12`` ``val.txt``; so on a
  root whose ``train/`` holds only a subset, label val with wnids, or link ``val/<wnid>`` folders too).

Labels are positions in the sorted wnid list (torchvision ``ImageFolder``'s convention), so class
ids agree between train and val whatever layout val has.

**ImageNet-100** (``imagenet100``): the same folders restricted to a 100-class list, by default the
one of Contrastive Multiview Coding (Tian et al., ECCV 2020; HobbitLong/CMC ``imagenet100.txt``,
shipped in ``benchmarks/data/class_lists/imagenet100_cmc.txt``); ``data.classes_file`` names any other
list (one wnid per line, ``#`` comments). ``root`` may be the full ImageNet or a subset whose class
folders are symbolic links to it: only the listed folders are read, and a listed class that is absent
is an error naming it.

**Tiny-ImageNet** (``tiny_imagenet``; Le & Yang, CS231N 2015): ``tiny-imagenet-200/`` as its zip
unpacks it: ``wnids.txt`` (200 classes), ``train/<wnid>/images/*.JPEG`` (500 per class, 64 x 64),
``val/images/*.JPEG`` with ``val/val_annotations.txt`` (tab-separated ``file, wnid, box``; 50 per
class). The test split has no labels and is not used.
"""
from __future__ import annotations

import re
from pathlib import Path

from benchmarks.data.imagefolder import IMG_EXTENSIONS, image_files
from benchmarks.data.layout import locate
from benchmarks.errors import DataError

CLASS_LISTS = Path(__file__).resolve().parent / 'class_lists'
IMAGENET100_CMC = CLASS_LISTS / 'imagenet100_cmc.txt'
VAL_LABEL_FILES = ('LOC_val_solution.csv', 'ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt',
                   'val.txt')
_WNID = re.compile(r'^n\d{8}$')
IMAGENET_EXPECTED = ('an ImageNet folder: train/<wnid>/*.JPEG and val/, the latter with one folder per class or '
                     'flat as the validation archive unpacks (val/ILSVRC2012_val_00000001.JPEG ...) with a label '
                     f'file ({", ".join(VAL_LABEL_FILES)} under the root, or data.val_labels=FILE)')


def read_class_list(path) -> list[str]:
    """The wnids of a class-list file (one per line; blank lines and ``#`` comments ignored)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f'data.classes_file {path} does not exist. Give a text file with one class folder name '
                        f'(wnid) per line, or leave data.classes_file unset for the standard ImageNet-100 list.')
    names = [line.split('#')[0].strip() for line in path.read_text().splitlines()]
    names = [n for n in names if n]
    if not names:
        raise DataError(f'data.classes_file {path} lists no classes; write one class folder name per line.')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f'data.classes_file {path} lists {", ".join(dup[:5])} more than once; each class once.')
    return names


def _class_dirs(split_dir: Path, classes) -> list[Path]:
    missing = [c for c in classes if not (split_dir / c).is_dir()]
    if missing:
        raise DataError(f'{split_dir} lacks {len(missing)} of the {len(classes)} listed classes (e.g. '
                        f'{", ".join(missing[:5])}). Point --data-root at a folder with a sub-folder (or a '
                        f'symbolic link to one) for each listed class, or fix data.classes_file.')
    return [split_dir / c for c in classes]


def folder_samples(split_dir: Path, classes) -> list:
    """``[(path, label)]`` of the listed class folders of ``split_dir``; label = position in ``classes``."""
    samples = [(p, c) for c, d in enumerate(_class_dirs(split_dir, classes)) for p in image_files(d)]
    if not samples:
        raise DataError(f'the class folders of {split_dir} hold no images with a known extension '
                        f'({", ".join(IMG_EXTENSIONS)}).')
    return samples


def imagenet_train(root, classes=None) -> tuple[list[str], list[str], list]:
    """``(all_classes, classes, samples)`` of ``root/train``: every class folder sorted, the ones used
    (``classes`` sorted, default all) and their ``(path, label)`` samples."""
    train = Path(root) / 'train'
    if not train.is_dir():
        raise DataError(f'{Path(root)} has no train/ folder. Expected {IMAGENET_EXPECTED}.')
    all_classes = sorted(d.name for d in train.iterdir() if d.is_dir())
    if not all_classes:
        raise DataError(f'{train} has no class folders. Expected {IMAGENET_EXPECTED}.')
    used = sorted(classes) if classes is not None else all_classes
    return all_classes, used, folder_samples(train, used)


def imagenet_val(root, classes, all_classes, val_labels=None) -> list:
    """``[(path, label)]`` of ``root/val`` for ``classes`` (labels = positions in ``classes``)."""
    val = Path(root) / 'val'
    if not val.is_dir():
        raise DataError(f'{Path(root)} has no val/ folder. Expected {IMAGENET_EXPECTED}.')
    if any(d.is_dir() for d in val.iterdir()):
        return folder_samples(val, classes)
    files = sorted(p for p in val.iterdir() if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise DataError(f'{val} holds neither class folders nor images. Expected {IMAGENET_EXPECTED}.')
    label_file = Path(val_labels) if val_labels else next(
        (Path(root) / n for n in VAL_LABEL_FILES if (Path(root) / n).is_file()), None)
    if label_file is None:
        raise DataError(f'{val} is flat ({len(files)} images, no class folders) and no label file was found: put '
                        f'one of {", ".join(VAL_LABEL_FILES)} under {Path(root)}, pass data.val_labels=FILE, or sort '
                        f'val/ into class folders.')
    if not label_file.is_file():
        raise DataError(f'data.val_labels {label_file} does not exist; give the file that labels the flat val/ '
                        f'images ({", ".join(VAL_LABEL_FILES)}).')
    wnid_of = _read_val_labels(label_file, all_classes)
    pos = {c: i for i, c in enumerate(classes)}
    samples, unlabelled = [], []
    for f in files:
        wnid = wnid_of.get(f.stem) or wnid_of.get(_val_number(f))
        if wnid is None:
            unlabelled.append(f.name)
        elif wnid in pos:
            samples.append((f, pos[wnid]))
    if unlabelled:
        raise DataError(f'{label_file} gives no label for {len(unlabelled)} of the {len(files)} images in {val} '
                        f'(e.g. {", ".join(unlabelled[:3])}). Use the label file that belongs to these images.')
    if not samples:
        raise DataError(f'none of the {len(files)} images in {val} belongs to the {len(classes)} classes used '
                        f'(labels from {label_file}).')
    return samples


def _val_number(path: Path):
    m = re.search(r'(\d+)$', path.stem)
    return int(m.group(1)) if m else None


def _read_val_labels(path: Path, all_classes) -> dict:
    """{file stem or image number: wnid} from any of the label-file formats of the module doc."""
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise DataError(f'the val label file {path} is empty.')
    if lines[0].replace(' ', '').lower().startswith('imageid,predictionstring'):
        out = {}
        for ln in lines[1:]:
            name, _, pred = ln.partition(',')
            if pred.split():
                out[Path(name.strip()).stem] = pred.split()[0]
        return _checked(out, path, all_classes)
    if all(ln.isdigit() for ln in lines[:50]) and len(lines[0].split()) == 1:
        ids = _devkit_wnids(path)
        out = {}
        for i, ln in enumerate(lines, start=1):
            if int(ln) not in ids:
                raise DataError(f'{path} line {i}: ILSVRC2012_ID {ln} is not a class of meta.mat.')
            out[i] = ids[int(ln)]
        return _checked(out, path, all_classes)
    out = {}
    for i, ln in enumerate(lines, start=1):
        parts = ln.replace(',', ' ').split()
        if len(parts) < 2:
            raise DataError(f'{path} line {i} ({ln!r}) is not "<file name> <label>".')
        name, label = parts[0], parts[1]
        if label.isdigit():
            k = int(label)
            if k >= len(all_classes):
                raise DataError(f'{path} line {i}: label {k} indexes the {len(all_classes)} sorted class folders '
                                f'of train/, out of range. Integer labels follow the sorted train/ folders.')
            label = all_classes[k]
        out[Path(name).stem] = label
    return _checked(out, path, all_classes)


def _checked(wnid_of: dict, path: Path, all_classes) -> dict:
    known = set(all_classes)
    unknown = sorted({w for w in wnid_of.values() if w not in known})
    if unknown:
        raise DataError(f'{path} labels images with {len(unknown)} class(es) that train/ has no folder for (e.g. '
                        f'{", ".join(unknown[:3])}). train/ and the val labels must name the same classes.')
    return wnid_of


def _devkit_wnids(truth: Path) -> dict:
    """{ILSVRC2012_ID: wnid} of the leaf synsets in the devkit's meta.mat (next to the ground truth)."""
    meta = truth.parent / 'meta.mat'
    if not meta.is_file():
        raise DataError(f'{truth} lists ILSVRC2012_IDs, which need {meta} (from the same devkit archive, '
                        f'ILSVRC2012_devkit_t12.tar.gz) to name the classes; extract the whole devkit.')
    from scipy.io import loadmat
    try:
        synsets = loadmat(str(meta), squeeze_me=True)['synsets']
        return {int(s['ILSVRC2012_ID']): str(s['WNID']) for s in synsets if int(s['num_children']) == 0}
    except (KeyError, ValueError, TypeError, IndexError, OSError) as exc:
        raise DataError(f'{meta} is not the devkit meta.mat (no readable synsets with ILSVRC2012_ID, WNID, '
                        f'num_children: {exc}); extract ILSVRC2012_devkit_t12.tar.gz again.') from exc


# --- Tiny-ImageNet -----------------------------------------------------------------------------------
TINY_FOLDER = 'tiny-imagenet-200'
TINY_EXPECTED = ('Tiny-ImageNet as tiny-imagenet-200.zip unpacks it: a folder tiny-imagenet-200/ holding wnids.txt, '
                 'train/<wnid>/images/*.JPEG, val/images/*.JPEG and val/val_annotations.txt. Pass the folder that '
                 'contains tiny-imagenet-200/ (or that folder itself) with --data-root DIR; nothing is downloaded')


def tiny_dir(root) -> Path:
    return locate(root, TINY_FOLDER, ('wnids.txt',), ('train', 'val/images', 'val/val_annotations.txt'),
                  'Tiny-ImageNet', TINY_EXPECTED)


def tiny_classes(folder: Path) -> list[str]:
    """The wnids of ``wnids.txt``, sorted (labels are positions in this list)."""
    names = [ln.strip() for ln in (folder / 'wnids.txt').read_text().splitlines() if ln.strip()]
    if not names or len(set(names)) != len(names):
        raise DataError(f'{folder / "wnids.txt"} must list each class once (200 wnids); found {len(names)} lines, '
                        f'{len(set(names))} distinct. Extract the archive again.')
    return sorted(names)


def tiny_train(folder: Path, classes) -> list:
    """``[(path, label)]`` of ``train/<wnid>/images/``."""
    return folder_samples(folder / 'train', classes)


def tiny_val(folder: Path, classes) -> list:
    """``[(path, label)]`` of ``val/images/`` labelled by ``val/val_annotations.txt``."""
    notes = folder / 'val' / 'val_annotations.txt'
    pos = {c: i for i, c in enumerate(classes)}
    samples = []
    for i, ln in enumerate(notes.read_text().splitlines(), start=1):
        if not ln.strip():
            continue
        parts = ln.split('\t')
        if len(parts) < 2 or parts[1].strip() not in pos:
            raise DataError(f'{notes} line {i} ({ln.strip()[:60]!r}) is not "<file>\\t<wnid>\\t<box>" with a wnid of '
                            f'wnids.txt. Extract the archive again.')
        samples.append((folder / 'val' / 'images' / parts[0].strip(), pos[parts[1].strip()]))
    if not samples:
        raise DataError(f'{notes} labels no images. Extract the archive again.')
    missing = [p for p, _ in samples if not p.is_file()]
    if missing:
        raise DataError(f'{len(missing)} of the {len(samples)} val images listed in {notes} do not exist (e.g. '
                        f'{missing[0]}). Extract the archive again.')
    return samples
