"""Tests for benchmarks.data.retrieval: the CUB-200, Cars196 and ImageFolder retrieval datasets on fake
on-disk copies (Recall@K itself: tests/benchmarks/evals/test_retrieval.py)."""
import numpy as np
import pytest
import scipy.io as sio
import torch
from PIL import Image

import benchmarks.data.retrieval as rd
from benchmarks.data.retrieval import (Cars196Retrieval, CUB200Retrieval, ImageFolderRetrieval,
                                       build_retrieval_dataset)
from benchmarks.engine.features import extract_features
from benchmarks.errors import DataError
from benchmarks.evals.retrieval import recall_at_k


# --- on-disk fixtures -------------------------------------------------------------------------------
def _write_image(path, value, size=(8, 8), mode='RGB'):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size[1], size[0], 3), value % 256, dtype=np.uint8)
    img = Image.fromarray(arr)
    (img.convert('L') if mode == 'L' else img).save(path)


def _make_cub(root, per_class=(2, 3, 2, 1, 2, 3)):
    """A fake CUB_200_2011 with len(per_class) classes; images.txt in a shuffled id order."""
    base = root / 'CUB_200_2011'
    names = [f'{c:03d}.Bird_{c}' for c in range(1, len(per_class) + 1)]
    entries = [(c, f'{names[c - 1]}/img_{c}_{j}.jpg') for c in range(1, len(per_class) + 1)
               for j in range(per_class[c - 1])]
    order = np.random.default_rng(0).permutation(len(entries))
    images, labels = [], []
    for image_id, e in enumerate(order, 1):
        c, rel = entries[e]
        images.append(f'{image_id} {rel}')
        labels.append(f'{image_id} {c}')
        _write_image(base / 'images' / rel, 40 * c, size=(8 + c, 8))
    (base / 'images.txt').write_text('\n'.join(images) + '\n')
    (base / 'image_class_labels.txt').write_text('\n'.join(labels) + '\n')
    # classes.txt out of order: the split must follow the ids, not the file order.
    (base / 'classes.txt').write_text('\n'.join(f'{c} {names[c - 1]}' for c in reversed(range(1, len(per_class) + 1))))
    (base / 'train_test_split.txt').write_text('\n'.join(f'{i} 1' for i in range(1, len(entries) + 1)))
    return base, names


@pytest.fixture
def no_decode(monkeypatch):
    """Fail if a constructor decodes an image (errors must come from metadata alone)."""
    def forbidden(*args, **kwargs):
        raise AssertionError('an image was decoded')
    monkeypatch.setattr(rd, 'decode_rgb', forbidden)


def test_cub_loader_parts(tmp_path):
    base, names = _make_cub(tmp_path)
    for root in (tmp_path, base):                      # the parent or CUB_200_2011/ itself
        test = CUB200Retrieval(root, image_size=16)
        assert test.classes == names[3:] and test.class_ids == [4, 5, 6]
        assert len(test) == 1 + 2 + 3 and test.labels.dtype == np.int64
        for path, label in zip(test.paths, test.labels):
            assert path.parent.name == names[3 + label]     # label = position in the part's classes
    train = CUB200Retrieval(tmp_path, part='train', image_size=16)
    assert train.classes == names[:3] and np.bincount(train.labels).tolist() == [2, 3, 2]

    img = test.load(0)
    assert img.dtype == torch.uint8 and img.shape[0] == 3 and img.shape[1] == 8
    index, views, label = test[0]
    assert views[0].shape == (3, 16, 16) and label == test.labels[0]


def test_cub_features_end_to_end(tmp_path):
    # Each class is one flat colour, so raw-pixel retrieval is perfect except for the singleton.
    _make_cub(tmp_path)
    ds = build_retrieval_dataset('cub200', tmp_path, image_size=16, seed=0)
    feats, labels = extract_features(None, ds, batch_size=4)
    assert feats.shape == (6, 3 * 16 * 16) and np.array_equal(labels, ds.labels)
    res = recall_at_k(feats, labels, (1,))
    assert res == {'retrieval_r1': 100.0 * 5 / 6}       # class 4 has one image: its query misses


def test_cub_errors(tmp_path, no_decode):
    with pytest.raises(DataError, match='does not exist'):
        CUB200Retrieval(tmp_path / 'nowhere')
    with pytest.raises(DataError, match='images.txt'):
        CUB200Retrieval(tmp_path)
    base, _ = _make_cub(tmp_path)
    (base / 'images' / '006.Bird_6' / 'img_6_0.jpg').unlink()
    with pytest.raises(DataError, match=r'1 of the 6 images of the test part .* do not exist'):
        CUB200Retrieval(tmp_path)
    assert len(CUB200Retrieval(tmp_path, part='train')) == 7     # the train part is complete
    (base / 'classes.txt').unlink()
    with pytest.raises(DataError, match='lacks classes.txt'):
        CUB200Retrieval(tmp_path)
    (base / 'classes.txt').write_text('1 a\n2 b\n')
    with pytest.raises(DataError, match='classes.txt does not list'):
        CUB200Retrieval(tmp_path)
    (base / 'classes.txt').write_text('1 a\nbroken line\n')
    with pytest.raises(DataError, match='line 2'):
        CUB200Retrieval(tmp_path)


def test_cub_empty_test_part(tmp_path, no_decode):
    _make_cub(tmp_path, per_class=(2, 2, 0, 0))
    with pytest.raises(DataError, match=r'test part .* classes 3-4\) holds 0 image'):
        CUB200Retrieval(tmp_path)


def _make_cars(root, classes=(1, 1, 2, 2, 3, 4, 4, 4), names=('A', 'B', 'C', 'D'), extra=None):
    dt = [(f, 'O') for f in ('bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', 'relative_im_path', 'test')]
    ann = np.zeros((1, len(classes)), dtype=dt)
    for i, c in enumerate(classes):
        rel = f'car_ims/{i + 1:06d}.jpg'
        one = lambda v: np.array([[v]], dtype=np.uint8)   # noqa: E731  (MATLAB stores 1x1 arrays)
        ann[0, i] = (one(1), one(1), one(6), one(6), one(c), np.array([rel]), one(i % 2))
        _write_image(root / rel, 50 * c, mode='L' if i == 0 else 'RGB')
    cn = np.empty((1, len(names)), dtype=object)
    cn[0, :] = list(names)
    sio.savemat(root / 'cars_annos.mat', dict(annotations=ann, class_names=cn, **(extra or {})))


def test_cars_loader_parts(tmp_path):
    _make_cars(tmp_path)
    test = build_retrieval_dataset('cars196', tmp_path, image_size=16)
    assert isinstance(test, Cars196Retrieval)
    assert test.classes == ['C', 'D'] and test.class_ids == [3, 4]
    assert test.labels.tolist() == [0, 1, 1, 1]
    assert [p.name for p in test.paths] == ['000005.jpg', '000006.jpg', '000007.jpg', '000008.jpg']
    train = Cars196Retrieval(tmp_path, part='train', image_size=16)
    assert train.classes == ['A', 'B'] and train.labels.tolist() == [0, 0, 1, 1]
    gray = train.load(0)                      # a greyscale JPEG still decodes to 3 channels
    assert gray.shape == (3, 8, 8) and gray.dtype == torch.uint8
    assert test.load(0).shape == (3, 8, 8)


def test_cars_errors(tmp_path, no_decode):
    with pytest.raises(DataError, match='cars_annos.mat does not exist'):
        Cars196Retrieval(tmp_path)
    (tmp_path / 'cars_annos.mat').write_bytes(b'not a mat file at all' * 10)
    with pytest.raises(DataError, match='cannot read'):
        Cars196Retrieval(tmp_path)
    sio.savemat(tmp_path / 'cars_annos.mat', dict(something=np.zeros(3)))
    with pytest.raises(DataError, match='no struct array "annotations"'):
        Cars196Retrieval(tmp_path)
    _make_cars(tmp_path, classes=(1, 2, 7))
    with pytest.raises(DataError, match=r'class ids in \[1, 7\] but 4 class names'):
        Cars196Retrieval(tmp_path)
    _make_cars(tmp_path)
    (tmp_path / 'car_ims' / '000008.jpg').unlink()
    with pytest.raises(DataError, match='do not exist'):
        Cars196Retrieval(tmp_path)


def test_imagefolder_loader(tmp_path, no_decode):
    flat = tmp_path / 'flat'
    for c, n in zip('abcde', (1, 2, 3, 2, 2)):
        for j in range(n):
            _write_image(flat / c / f'{j}.png', 10 * j)
    test = ImageFolderRetrieval(flat)
    assert test.classes == ['c', 'd', 'e'] and np.bincount(test.labels).tolist() == [3, 2, 2]  # odd: test gets 3

    split = tmp_path / 'split'
    for s, n in (('train', 2), ('val', 1)):
        for c in 'abcd':
            for j in range(n):
                _write_image(split / s / c / f'{j}.jpg', 10 * j)
    pooled = build_retrieval_dataset('imagefolder', split, image_size=16)
    assert pooled.classes == ['c', 'd'] and len(pooled) == 6     # train + val pooled
    val = build_retrieval_dataset('imagefolder', split, image_size=16, split='val', part='train')
    assert val.classes == ['a', 'b'] and len(val) == 2
    with pytest.raises(DataError, match='does not exist'):
        ImageFolderRetrieval(split, split='test')
    _write_image(split / 'val' / 'z' / '0.jpg', 0)
    with pytest.raises(DataError, match='same class folders'):
        ImageFolderRetrieval(split)


def test_imagefolder_empty_part(tmp_path, no_decode):
    _write_image(tmp_path / 'a' / '0.png', 0)
    _write_image(tmp_path / 'a' / '1.png', 0)
    (tmp_path / 'b').mkdir()                   # the test half (class b) has no image
    with pytest.raises(DataError, match='holds 0 image'):
        ImageFolderRetrieval(tmp_path)


def test_dispatcher_errors(tmp_path):
    with pytest.raises(DataError, match='unknown retrieval dataset'):
        build_retrieval_dataset('sop', tmp_path)
    with pytest.raises(DataError, match='imagefolder kind only'):
        _make_cars(tmp_path)
        build_retrieval_dataset('cars196', tmp_path, split='val')
    with pytest.raises(DataError, match='no Cars-196 root'):
        build_retrieval_dataset('cars196', '')
    with pytest.raises(DataError, match="part must be 'train' or 'test'"):
        build_retrieval_dataset('cars196', tmp_path, part='val')
