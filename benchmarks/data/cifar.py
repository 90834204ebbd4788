"""CIFAR-10 and CIFAR-100 read from the python pickle batches, as the official archives unpack them.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009; files of
``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` (https://www.cs.toronto.edu/~kriz/cifar.html):

=============  =========================================  ==============================================
kind           folder                                     files
=============  =========================================  ==============================================
``cifar10``    ``cifar-10-batches-py/``                   ``data_batch_1`` .. ``data_batch_5`` (10,000
                                                          each), ``test_batch`` (10,000), ``batches.meta``
``cifar100``   ``cifar-100-python/``                      ``train`` (50,000), ``test`` (10,000), ``meta``
=============  =========================================  ==============================================

Each batch is a pickled dict with ``b'data'`` (uint8 ``[N, 3072]``: the 1024 red, then green, then
blue values of a 32 x 32 image, row-major) and ``b'labels'`` (CIFAR-10) or ``b'fine_labels'``
(CIFAR-100, the 100 classes; the 20 coarse ones are not used). The meta file names the classes
(``b'label_names'`` / ``b'fine_label_names'``).

The files' *structure* is checked (names, keys, shapes, label range, one label per image), not the
official archive's md5 sums as torchvision's ``CIFAR10`` does: a re-packed or generated copy in the
same format loads. The pickles are read with an unpickler that accepts only what these files contain
(dicts, lists, bytes, numpy arrays), so a file that asks to import anything else is refused instead of
run.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from benchmarks.data.layout import locate
from benchmarks.errors import DataError

KINDS = {
    'cifar10': dict(title='CIFAR-10', folder='cifar-10-batches-py', archive='cifar-10-python.tar.gz',
                    train=tuple(f'data_batch_{i}' for i in range(1, 6)), test=('test_batch',), meta='batches.meta',
                    names_key=b'label_names', labels_key=b'labels', classes=10),
    'cifar100': dict(title='CIFAR-100', folder='cifar-100-python', archive='cifar-100-python.tar.gz',
                     train=('train',), test=('test',), meta='meta', names_key=b'fine_label_names',
                     labels_key=b'fine_labels', classes=100),
}
SIDE = 32
_ALLOWED = {('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.multiarray', '_reconstruct'),
            ('numpy._core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
            ('numpy._core.multiarray', 'scalar'), ('_codecs', 'encode'), ('copy_reg', '_reconstructor'),
            ('copyreg', '_reconstructor'), ('__builtin__', 'object'), ('builtins', 'object'),
            # protocol 5 (the highest, Python 3.14's default) stores arrays through _frombuffer
            ('numpy._core.numeric', '_frombuffer'), ('numpy.core.numeric', '_frombuffer')}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'the file asks to load {module}.{name}, which a CIFAR batch never contains')


def _expected(kind: str) -> str:
    k = KINDS[kind]
    return (f"{k['title']} as the official archive {k['archive']} unpacks it: a folder {k['folder']}/ holding "
            f"{', '.join(k['train'] + k['test'] + (k['meta'],))}. Pass the folder that contains {k['folder']}/ "
            f"(or {k['folder']}/ itself) with --data-root DIR; nothing is downloaded")


def cifar_dir(root, kind: str) -> Path:
    """The folder holding ``kind``'s batch files: ``root/<folder>`` or ``root`` itself."""
    k = KINDS[kind]
    return locate(root, k['folder'], (k['meta'], k['train'][0]), k['train'] + k['test'] + (k['meta'],), k['title'],
                  _expected(kind))


def _load(path: Path) -> dict:
    try:
        with open(path, 'rb') as f:
            obj = _DataUnpickler(io.BytesIO(f.read()), encoding='bytes').load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
            LookupError, MemoryError, OverflowError) as exc:  # a damaged byte can name a codec or a huge length
        raise DataError(f'{path} is not a readable CIFAR pickle ({type(exc).__name__}: {exc}). The file is '
                        f'truncated or not from the python version of the archive; extract it again.') from exc
    if not isinstance(obj, dict):
        raise DataError(f'{path} holds a {type(obj).__name__}, not the dict of a CIFAR batch; extract the '
                        f'python version of the archive again.')
    # pickles written by Python 3 with str keys read back as str: accept both
    return {(k.encode() if isinstance(k, str) else k): v for k, v in obj.items()}


def read_classes(folder: Path, kind: str) -> list[str]:
    """The class names of the meta file, in label order."""
    k = KINDS[kind]
    meta = _load(folder / k['meta'])
    names = meta.get(k['names_key'])
    if not isinstance(names, (list, tuple)) or len(names) != k['classes']:
        got = 'no such key' if names is None else f'{len(names)} names' if isinstance(names, (list, tuple)) else type(names).__name__
        raise DataError(f"{folder / k['meta']}: expected {k['classes']} class names under "
                        f"{k['names_key'].decode()!r}, found {got}. Is this the {k['title']} archive?")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def read_split(folder: Path, kind: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 [N, 3, 32, 32], labels int64 [N])`` of ``split`` ('train' or 'test'), batches in
    file order."""
    k = KINDS[kind]
    images, labels = [], []
    for name in k[split]:
        path = folder / name
        batch = _load(path)
        data, y = batch.get(b'data'), batch.get(k['labels_key'])
        if data is None or y is None:
            raise DataError(f"{path} lacks the key {'data' if data is None else k['labels_key'].decode()!r} of a "
                            f"{k['title']} batch. Is this the {k['title']} archive (CIFAR-10 and CIFAR-100 name "
                            f"their labels differently)?")
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or data.dtype.kind not in 'ui' or \
                (data.size and (data.min() < 0 or data.max() > 255)):
            raise DataError(f'{path}: the images must be uint8 [N, 3072] (32 x 32 x 3), found {data.dtype} '
                            f'{list(data.shape)}. The file is damaged; extract the archive again.')
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        if len(y) != len(data):
            raise DataError(f'{path} holds {len(data)} images but {len(y)} labels; the file is damaged, '
                            f'extract the archive again.')
        if len(y) and (y.min() < 0 or y.max() >= k['classes']):
            raise DataError(f"{path}: labels must lie in [0, {k['classes']}), found [{y.min()}, {y.max()}]. "
                            f"Is this the {k['title']} archive?")
        images.append(data.astype(np.uint8, copy=False).reshape(-1, 3, SIDE, SIDE))
        labels.append(y)
    images, labels = np.concatenate(images), np.concatenate(labels)
    if not len(images):
        raise DataError(f"the {split} batches of {folder} hold no images; extract the archive again.")
    return images, labels
