"""The native-format readers (CIFAR pickles, STL-10 binaries, ImageNet / ImageNet-100 / Tiny-ImageNet
folders) through `benchmarks.data.sources`, on tiny copies written in each archive's own format
(`tests.helpers.native_data`)."""
import hashlib
import os
import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from benchmarks.data.batch_views import BatchViews
from benchmarks.data.imagefolder import decode_rgb
from benchmarks.data.imagenet import IMAGENET100_CMC, read_class_list
from benchmarks.data.sources import KINDS, build_datasets, training_images
from benchmarks.data.views import CenterView
from benchmarks.errors import DataError
from tests.helpers.native_data import (LABEL_FILES, make_imagenet100_symlinks, write_cifar, write_imagenet,
                                       write_stl10, write_tiny_imagenet, wnid)

RECIPES = ['mocov2', 'mocov2']


def _images(ds):
    return np.stack([ds.load(i).numpy() for i in range(len(ds))])


def _pairs(ds):
    """(path, label) of an ImageFilesDataset, sorted, as strings (paths resolved through symlinks)."""
    return sorted((str(p), int(y)) for p, y in zip(ds.paths, ds.labels))


def _expected(samples):
    return sorted((str(p), int(y)) for p, y in samples)


# --- CIFAR -------------------------------------------------------------------------------------------
CIFAR = {'cifar100': dict(folder='cifar-100-python', train='train', test='test', n_classes=100,
                          labels_key=b'fine_labels', official_train_md5='16019d7e3df5f24257cddd939b257f8d'),
         'cifar10': dict(folder='cifar-10-batches-py', train='data_batch_1', test='test_batch', n_classes=10,
                         labels_key=b'labels', official_train_md5='c99cafc152244af753f735de768cd75f')}


@pytest.mark.parametrize('kind', list(CIFAR))
@pytest.mark.parametrize('at_folder', [False, True], ids=['parent', 'folder'])
def test_cifar_reads_back_exactly(tmp_path, kind, at_folder):
    n_train = 7 if kind == 'cifar10' else 6     # CIFAR-10: uneven batches 2,2,1,1,1
    wrote = write_cifar(tmp_path, kind, n_train=n_train, n_test=4, seed=1)
    root = wrote['folder'] if at_folder else tmp_path
    # the generated files are not the official ones: no checksum may stand in their way
    first = wrote['folder'] / CIFAR[kind]['train']
    assert hashlib.md5(first.read_bytes()).hexdigest() != CIFAR[kind]['official_train_md5']
    cfg = dict(type=kind, root=str(root), image_size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert training_images(cfg) == n_train
        splits = build_datasets(cfg, RECIPES, seed=0)
    assert not [w for w in caught if re.search('md5|checksum', str(w.message), re.I)]
    assert splits.probe is splits.train
    title = 'CIFAR-100' if kind == 'cifar100' else 'CIFAR-10'
    assert splits.description.startswith(f'{title} (') and f'train {n_train} ' in splits.description
    for ds, (images, labels) in ((splits.train, wrote['train']), (splits.val, wrote['test'])):
        assert len(ds) == len(labels)
        loaded = _images(ds)
        assert loaded.dtype == np.uint8 and loaded.shape == images.shape
        assert np.array_equal(loaded, images)
        assert np.array_equal(ds.labels, labels)
        assert ds.classes == wrote['classes'] and len(ds.classes) == CIFAR[kind]['n_classes']
        assert ds.labelled
    assert splits.train.recipes == RECIPES and splits.val.recipes == ['center']


def test_cifar_channel_planes_are_red_green_blue(tmp_path):
    """b'data' row = 1024 red, 1024 green, 1024 blue, each row-major: pin the byte layout itself."""
    wrote = write_cifar(tmp_path, 'cifar100', n_train=2, n_test=1)
    with open(wrote['folder'] / 'train', 'rb') as f:
        row = pickle.load(f, encoding='bytes')[b'data'][1]
    ds = build_datasets(dict(type='cifar100', root=str(tmp_path), image_size=32), ['center'], 0).train
    img = ds.load(1).numpy()
    assert img[0, 0, 1] == row[1] and img[0, 1, 0] == row[32]            # red plane, row-major
    assert img[1, 0, 0] == row[1024] and img[2, 31, 31] == row[3071]     # green, then blue


@pytest.mark.parametrize('kind,victim', [('cifar100', 'test'), ('cifar100', 'meta'), ('cifar10', 'data_batch_3'),
                                         ('cifar10', 'batches.meta')])
def test_cifar_missing_file_is_named(tmp_path, kind, victim):
    wrote = write_cifar(tmp_path, kind, n_train=5, n_test=2)
    (wrote['folder'] / victim).unlink()
    cfg = dict(type=kind, root=str(tmp_path), image_size=32)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=rf'\b{re.escape(victim)} is missing'):
            call()


@pytest.mark.parametrize('kind', list(CIFAR))
@pytest.mark.parametrize('keep', [0.5, 0.99, 20])
def test_cifar_truncated_pickle(tmp_path, kind, keep):
    wrote = write_cifar(tmp_path, kind, n_train=5, n_test=2)
    path = wrote['folder'] / CIFAR[kind]['train']
    raw = path.read_bytes()
    path.write_bytes(raw[:int(len(raw) * keep) if keep < 1 else keep])
    cfg = dict(type=kind, root=str(tmp_path), image_size=32)
    with pytest.raises(DataError, match=re.escape(path.name)):
        training_images(cfg)
    with pytest.raises(DataError, match='not a readable CIFAR pickle'):
        build_datasets(cfg, RECIPES, 0)


@pytest.mark.parametrize('kind', list(CIFAR))
@pytest.mark.parametrize('bad', ['high', 'negative'])
def test_cifar_labels_out_of_range(tmp_path, kind, bad):
    wrote = write_cifar(tmp_path, kind, n_train=5, n_test=2)
    path = wrote['folder'] / CIFAR[kind]['test']
    with open(path, 'rb') as f:
        batch = pickle.load(f, encoding='bytes')
    key = CIFAR[kind]['labels_key']
    batch[key][1] = CIFAR[kind]['n_classes'] if bad == 'high' else -1
    with open(path, 'wb') as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(DataError, match=r'labels must lie in \[0, %d\)' % CIFAR[kind]['n_classes']):
        training_images(dict(type=kind, root=str(tmp_path)))


def test_cifar_labels_count_must_match_images(tmp_path):
    wrote = write_cifar(tmp_path, 'cifar100', n_train=4, n_test=2)
    path = wrote['folder'] / 'train'
    with open(path, 'rb') as f:
        batch = pickle.load(f, encoding='bytes')
    batch[b'fine_labels'].pop()
    with open(path, 'wb') as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(DataError, match='4 images but 3 labels'):
        training_images(dict(type='cifar100', root=str(tmp_path)))


class _RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize('victim', ['train', 'meta'])
def test_cifar_pickle_importing_other_globals_is_refused_unrun(tmp_path, victim):
    wrote = write_cifar(tmp_path, 'cifar100', n_train=3, n_test=2)
    marker = tmp_path / 'executed'
    payload = {b'data': _RunsACommand(f'touch {marker}'), b'fine_labels': [0],
               b'fine_label_names': _RunsACommand(f'touch {marker}')}
    (wrote['folder'] / victim).write_bytes(pickle.dumps(payload, protocol=2))
    # the payload really would run under a plain unpickler (checked in a scratch copy, not the dataset)
    probe = tmp_path / 'probe_marker'
    pickle.loads(pickle.dumps(_RunsACommand(f'touch {probe}'), protocol=2))
    assert probe.exists()
    cfg = dict(type='cifar100', root=str(tmp_path), image_size=32)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=r'system'):
            call()
    assert not marker.exists()


def test_cifar_copy_repickled_with_protocol_5_loads(tmp_path):
    wrote = write_cifar(tmp_path, 'cifar100', n_train=3, n_test=2)
    for name in ('train', 'test', 'meta'):
        path = wrote['folder'] / name
        with open(path, 'rb') as f:
            obj = pickle.load(f, encoding='bytes')
        path.write_bytes(pickle.dumps(obj, protocol=5))
    train = build_datasets(dict(type='cifar100', root=str(tmp_path), image_size=32), RECIPES, 0).train
    assert np.array_equal(_images(train), wrote['train'][0])


def test_cifar_damaged_codec_name_is_a_data_error(tmp_path):
    wrote = write_cifar(tmp_path, 'cifar100', n_train=3, n_test=2)
    path = wrote['folder'] / 'test'
    raw = path.read_bytes()
    assert b'latin1' in raw
    path.write_bytes(raw.replace(b'latin1', b'latinX', 1))      # one damaged byte
    with pytest.raises(DataError, match='test'):
        training_images(dict(type='cifar100', root=str(tmp_path)))


def test_cifar_wrong_kind_of_archive(tmp_path):
    """CIFAR-10 files under the CIFAR-100 folder name: the labels key differs, reported as such."""
    wrote = write_cifar(tmp_path, 'cifar10', n_train=2, n_test=1)
    target = tmp_path / 'other' / 'cifar-100-python'
    target.mkdir(parents=True)
    for src, dst in (('data_batch_1', 'train'), ('test_batch', 'test'), ('batches.meta', 'meta')):
        (target / dst).write_bytes((wrote['folder'] / src).read_bytes())
    with pytest.raises(DataError, match='fine_label_names'):
        training_images(dict(type='cifar100', root=str(tmp_path / 'other')))


# --- STL-10 ------------------------------------------------------------------------------------------
def test_stl10_splits_and_pixels(tmp_path):
    wrote = write_stl10(tmp_path, n_train=3, n_test=2, n_unlabeled=4, seed=2)
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    assert training_images(cfg) == 4
    s = build_datasets(cfg, RECIPES, seed=0)
    assert len(s.train) == 4 and not s.train.labelled and (s.train.labels == -1).all()
    assert np.array_equal(_images(s.train), wrote['unlabeled'])
    assert s.probe is not s.train and s.probe.labelled and s.val.labelled
    for ds, (images, labels) in ((s.probe, wrote['train']), (s.val, wrote['test'])):
        loaded = _images(ds)
        assert loaded.shape == (len(labels), 3, 96, 96)
        assert np.array_equal(loaded, images)          # row-major again after the column-major file
        assert np.array_equal(ds.labels, labels) and labels.min() >= 0
        assert ds.classes == wrote['classes']
    assert s.train.recipes == RECIPES and s.probe.recipes == ['center'] and s.val.recipes == ['center']
    assert 'STL-10' in s.description and 'unlabeled 4 (training) + train 3' in s.description
    assert 'test 2' in s.description
    # the test images are not symmetric: a reader that skipped the transpose would differ
    assert not np.array_equal(wrote['test'][0], wrote['test'][0].transpose(0, 1, 3, 2))
    # root may be stl10_binary/ itself
    again = build_datasets(dict(cfg, root=str(wrote['folder'])), RECIPES, seed=0)
    assert np.array_equal(_images(again.val), wrote['test'][0])


def test_stl10_file_is_column_major(tmp_path):
    wrote = write_stl10(tmp_path, n_train=1, n_test=1, n_unlabeled=1)
    raw = np.frombuffer((wrote['folder'] / 'train_X.bin').read_bytes(), dtype=np.uint8)
    img = build_datasets(dict(type='stl10', root=str(tmp_path), image_size=96), ['center'], 0).probe.load(0)
    # byte 1 of the file is channel 0, column 0, row 1; byte 96 is column 1, row 0
    assert img[0, 1, 0] == raw[1] and img[0, 0, 1] == raw[96] and img[1, 0, 0] == raw[96 * 96]


def test_stl10_class_names(tmp_path):
    wrote = write_stl10(tmp_path, n_train=1, n_test=1, n_unlabeled=1)
    names = wrote['folder'] / 'class_names.txt'
    names.write_text('\n'.join(f'kind {k}' for k in range(10)) + '\n')
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    assert build_datasets(cfg, RECIPES, 0).val.classes == [f'kind {k}' for k in range(10)]
    names.unlink()                                       # absent: the official ten
    assert build_datasets(cfg, RECIPES, 0).probe.classes == list(wrote['classes'])
    names.write_text('airplane\nbird\n')
    with pytest.raises(DataError, match='names 2 classes'):
        training_images(cfg)


def test_stl10_train_plus_unlabeled(tmp_path):
    wrote = write_stl10(tmp_path, n_train=3, n_test=2, n_unlabeled=4)
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64, train_split='train+unlabeled')
    assert training_images(cfg) == 7
    train = build_datasets(cfg, RECIPES, seed=0).train
    assert len(train) == 7 and (train.labels == -1).all() and not train.labelled
    loaded = _images(train)
    assert np.array_equal(loaded[:3], wrote['train'][0])
    assert np.array_equal(loaded[3:], wrote['unlabeled'])
    # the batched views work over the concatenation (a memory map behind the first images)
    idx, views, labels = train.collate_fn()([train[(0, i)] for i in (1, 5)])
    assert views[0].shape == (2, 3, 64, 64) and labels.tolist() == [-1, -1]
    with pytest.raises(DataError, match='train_split'):
        training_images(dict(cfg, train_split='test'))


@pytest.mark.parametrize('victim', ['train_X.bin', 'test_X.bin', 'unlabeled_X.bin'])
def test_stl10_truncated_images(tmp_path, victim):
    wrote = write_stl10(tmp_path, n_train=2, n_test=2, n_unlabeled=2)
    path = wrote['folder'] / victim
    path.write_bytes(path.read_bytes()[:-100])
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=rf'{re.escape(victim)} has {2 * 27648 - 100} bytes'):
            call()


@pytest.mark.parametrize('split', ['train', 'test'])
def test_stl10_label_count_mismatch(tmp_path, split):
    wrote = write_stl10(tmp_path, n_train=3, n_test=3, n_unlabeled=1)
    path = wrote['folder'] / f'{split}_y.bin'
    path.write_bytes(path.read_bytes()[:-1])
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=rf'{split}_y.bin holds 2 labels'):
            call()


@pytest.mark.parametrize('bad', [0, 11])
def test_stl10_label_out_of_range(tmp_path, bad):
    wrote = write_stl10(tmp_path, n_train=3, n_test=2, n_unlabeled=1)
    path = wrote['folder'] / 'train_y.bin'
    y = bytearray(path.read_bytes())
    y[1] = bad
    path.write_bytes(bytes(y))
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match='labels must lie in 1-10'):
            call()


@pytest.mark.parametrize('victim', ['unlabeled_X.bin', 'test_y.bin'])
def test_stl10_missing_file_is_named(tmp_path, victim):
    wrote = write_stl10(tmp_path, n_train=2, n_test=2, n_unlabeled=1)
    (wrote['folder'] / victim).unlink()
    cfg = dict(type='stl10', root=str(tmp_path), image_size=64)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=rf'{re.escape(victim)} is missing'):
            call()


# --- Tiny-ImageNet -----------------------------------------------------------------------------------
@pytest.fixture
def tiny(tmp_path):
    return write_tiny_imagenet(tmp_path, classes=3, per_class=2, val_per_class=2, seed=4), tmp_path


def test_tiny_imagenet_samples_and_pixels(tiny):
    wrote, root = tiny
    cfg = dict(type='tiny_imagenet', root=str(root), image_size=32)
    assert training_images(cfg) == 6
    s = build_datasets(cfg, RECIPES, seed=0)
    assert wrote['classes'] == sorted(wrote['classes'])
    assert (wrote['folder'] / 'wnids.txt').read_text().split() != wrote['classes']   # listed unsorted
    for ds, split in ((s.train, 'train'), (s.val, 'val')):
        assert ds.classes == wrote['classes']
        assert _pairs(ds) == _expected(wrote[split])
    assert s.probe is s.train and len(s.val) == 6
    assert sorted(set(s.val.labels.tolist())) == [0, 1, 2]
    for ds in (s.train, s.val):
        for i in range(len(ds)):
            img = ds.load(i)
            assert img.dtype == torch.uint8 and tuple(img.shape) == (3, 64, 64)
            assert torch.equal(img, decode_rgb(ds.paths[i]))
            # and it is the picture written (JPEG is lossy: close, with channels and axes in place)
            src = torch.from_numpy(wrote['pixels'][ds.paths[i]]).float()
            assert (img.float() - src).abs().mean() < 3
    # the folder itself works as root too
    again = build_datasets(dict(cfg, root=str(wrote['folder'])), ['center'], seed=0)
    assert _pairs(again.val) == _expected(wrote['val'])


def test_tiny_imagenet_unknown_wnid_in_annotations(tiny):
    wrote, root = tiny
    notes = wrote['folder'] / 'val' / 'val_annotations.txt'
    lines = notes.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split('\t')[1], 'n77777777')
    notes.write_text('\n'.join(lines) + '\n')
    with pytest.raises(DataError, match=r'line 3'):
        training_images(dict(type='tiny_imagenet', root=str(root)))


def test_tiny_imagenet_missing_val_image(tiny):
    wrote, root = tiny
    gone = wrote['val'][3][0]
    gone.unlink()
    with pytest.raises(DataError, match=re.escape(str(gone))):
        build_datasets(dict(type='tiny_imagenet', root=str(root), image_size=32), RECIPES, 0)


def test_tiny_imagenet_missing_class_folder(tiny):
    wrote, root = tiny
    w = wrote['classes'][1]
    for p in sorted((wrote['folder'] / 'train' / w).rglob('*'), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    (wrote['folder'] / 'train' / w).rmdir()
    with pytest.raises(DataError, match=w):
        training_images(dict(type='tiny_imagenet', root=str(root)))


# --- ImageNet ----------------------------------------------------------------------------------------
WNIDS = [wnid(k) for k in (3141, 27, 1618, 999, 2718)]   # not in sorted order


@pytest.mark.parametrize('layout,label_file,where', [('folders', 'loc_csv', 'root')]
                         + [('flat', f, w) for f in LABEL_FILES for w in ('root', 'elsewhere')])
def test_imagenet_val_layouts(tmp_path, layout, label_file, where):
    root = tmp_path / 'imagenet'
    elsewhere = tmp_path / 'labels' if where == 'elsewhere' else None
    wrote = write_imagenet(root, WNIDS, per_class=2, val_per_class=2, val_layout=layout, label_file=label_file,
                           labels_at=elsewhere, seed=5)
    cfg = dict(type='imagenet', root=str(root), image_size=32)
    if elsewhere is not None:
        cfg['val_labels'] = str(wrote['label_file'])
        assert not list(root.glob('*.csv')) and not list(root.glob('*.txt'))
        assert not (root / 'ILSVRC2012_devkit_t12').exists()
    assert training_images(cfg) == 10
    s = build_datasets(cfg, RECIPES, seed=0)
    assert s.train.classes == sorted(WNIDS) and s.val.classes == sorted(WNIDS)
    assert _pairs(s.train) == _expected(wrote['train'])
    assert _pairs(s.val) == _expected(wrote['val'])
    assert len(set(s.val.labels.tolist())) == 5        # every class in val, not all one label
    assert s.val.recipes == ['center'] and tuple(s.val.load(0).shape) == (3, 20, 24)


def test_imagenet_flat_val_without_label_file(tmp_path):
    root = tmp_path / 'imagenet'
    write_imagenet(root, WNIDS[:2], val_layout='flat', label_file='loc_csv', labels_at=tmp_path / 'away')
    with pytest.raises(DataError, match=r'LOC_val_solution\.csv.*val\.txt') as err:
        training_images(dict(type='imagenet', root=str(root)))
    assert 'ILSVRC2012_validation_ground_truth.txt' in str(err.value) and 'data.val_labels' in str(err.value)
    with pytest.raises(DataError, match='does not exist'):
        training_images(dict(type='imagenet', root=str(root), val_labels=str(tmp_path / 'nope.csv')))


def test_imagenet_devkit_without_meta(tmp_path):
    root = tmp_path / 'imagenet'
    wrote = write_imagenet(root, WNIDS[:3], val_layout='flat', label_file='devkit')
    (wrote['label_file'].parent / 'meta.mat').unlink()
    with pytest.raises(DataError, match=r'meta\.mat'):
        training_images(dict(type='imagenet', root=str(root)))


def test_imagenet_devkit_id_of_non_leaf_synset(tmp_path):
    """The helper's meta.mat has a non-leaf synset with ID len(classes) + 1: a ground truth naming it is refused."""
    root = tmp_path / 'imagenet'
    wrote = write_imagenet(root, WNIDS[:3], val_layout='flat', label_file='devkit')
    truth = wrote['label_file']
    lines = truth.read_text().split()
    truth.write_text('\n'.join([lines[0], '4'] + lines[2:]) + '\n')
    with pytest.raises(DataError, match='line 2: ILSVRC2012_ID 4'):
        training_images(dict(type='imagenet', root=str(root)))


def test_imagenet_label_file_naming_unknown_class(tmp_path):
    root = tmp_path / 'imagenet'
    wrote = write_imagenet(root, WNIDS[:2], val_layout='flat', label_file='val_txt_wnid')
    text = wrote['label_file'].read_text().replace(WNIDS[0], 'n55555555')
    wrote['label_file'].write_text(text)
    with pytest.raises(DataError, match='n55555555'):
        training_images(dict(type='imagenet', root=str(root)))


def test_imagenet_label_file_missing_an_image(tmp_path):
    root = tmp_path / 'imagenet'
    wrote = write_imagenet(root, WNIDS[:2], val_layout='flat', label_file='loc_csv')
    lines = wrote['label_file'].read_text().splitlines()
    dropped = lines.pop(2).split(',')[0]
    wrote['label_file'].write_text('\n'.join(lines) + '\n')
    with pytest.raises(DataError, match=f'no label for 1 of the 2 images.*{dropped}'):
        training_images(dict(type='imagenet', root=str(root)))


# --- ImageNet-100 ------------------------------------------------------------------------------------
LISTED = [WNIDS[4], WNIDS[0], WNIDS[1]]     # 3 of the 5, listed unsorted


def _class_file(tmp_path, names):
    path = tmp_path / 'classes.txt'
    path.write_text('# my subset\n' + ''.join(f'{n}  # class {k}\n' for k, n in enumerate(names)) + '\n')
    return path


def _subset(samples, classes, listed):
    pos = {c: i for i, c in enumerate(sorted(listed))}
    return [(p, pos[classes[y]]) for p, y in samples if classes[y] in pos]


@pytest.mark.parametrize('layout', ['folders', 'flat'])
def test_imagenet100_keeps_listed_classes(tmp_path, layout):
    full = tmp_path / 'imagenet'
    wrote = write_imagenet(full, WNIDS, per_class=2, val_per_class=2, val_layout=layout, label_file='val_txt_int')
    cfg = dict(type='imagenet100', root=str(full), classes_file=str(_class_file(tmp_path, LISTED)), image_size=32)
    assert training_images(cfg) == 6
    s = build_datasets(cfg, RECIPES, seed=0)
    assert s.train.classes == sorted(LISTED) and s.val.classes == sorted(LISTED)
    assert _pairs(s.train) == _expected(_subset(wrote['train'], wrote['classes'], LISTED))
    assert _pairs(s.val) == _expected(_subset(wrote['val'], wrote['classes'], LISTED))
    assert sorted(set(s.train.labels.tolist())) == [0, 1, 2] and len(s.val) == 6


def test_imagenet100_over_symlinked_subset(tmp_path):
    full = tmp_path / 'imagenet'
    wrote = write_imagenet(full, WNIDS, per_class=2, val_per_class=2)
    subset = make_imagenet100_symlinks(full, tmp_path / 'imagenet100', LISTED)
    assert (subset / 'train' / LISTED[0]).is_symlink()
    assert sorted(p.name for p in (subset / 'train').iterdir()) == sorted(LISTED)
    cfg = dict(type='imagenet100', root=str(subset), classes_file=str(_class_file(tmp_path, LISTED)), image_size=32)
    assert training_images(cfg) == 6
    s = build_datasets(cfg, RECIPES, seed=0)
    assert s.train.classes == sorted(LISTED)
    for ds, split in ((s.train, 'train'), (s.val, 'val')):
        assert all(str(p).startswith(str(subset)) for p in ds.paths)        # read through the links
        resolved = sorted((str(p.resolve()), int(y)) for p, y in zip(ds.paths, ds.labels))
        assert resolved == _expected(_subset(wrote[split], wrote['classes'], LISTED))
    assert torch.equal(s.train.load(0), decode_rgb(s.train.paths[0].resolve()))


@pytest.mark.parametrize('which', ['full', 'subset'])
def test_imagenet100_listed_class_absent(tmp_path, which):
    full = tmp_path / 'imagenet'
    write_imagenet(full, WNIDS, per_class=1, val_per_class=1)
    root = full if which == 'full' else make_imagenet100_symlinks(full, tmp_path / 'sub', LISTED[:2])
    absent = wnid(13579) if which == 'full' else LISTED[2]
    cfg = dict(type='imagenet100', root=str(root), classes_file=str(_class_file(tmp_path, LISTED[:2] + [absent])),
               image_size=32)
    for call in (lambda: training_images(cfg), lambda: build_datasets(cfg, RECIPES, 0)):
        with pytest.raises(DataError, match=absent):
            call()


def test_imagenet100_default_class_list():
    names = read_class_list(IMAGENET100_CMC)
    assert len(names) == 100 and len(set(names)) == 100
    assert all(re.fullmatch(r'n\d{8}', n) for n in names)
    assert names[0] == 'n02869837'       # the CMC file's order is kept (labels follow the sorted order)


def test_imagenet100_class_list_problems(tmp_path):
    full = tmp_path / 'imagenet'
    write_imagenet(full, WNIDS, per_class=1, val_per_class=1)
    dup = _class_file(tmp_path, [WNIDS[0], WNIDS[1], WNIDS[0]])
    with pytest.raises(DataError, match='more than once'):
        training_images(dict(type='imagenet100', root=str(full), classes_file=str(dup)))
    with pytest.raises(DataError, match='does not exist'):
        training_images(dict(type='imagenet100', root=str(full), classes_file=str(tmp_path / 'none.txt')))


# --- seeded views ------------------------------------------------------------------------------------
def test_cifar_views_are_seeded_per_sample_and_epoch(tmp_path):
    write_cifar(tmp_path, 'cifar100', n_train=8, n_test=2)
    cfg = dict(type='cifar100', root=str(tmp_path), image_size=32)
    a, b = (build_datasets(cfg, RECIPES, seed=3).train for _ in range(2))
    idx = [0, 2, 5, 7]
    batch_a = a.collate_fn()([a[(0, i)] for i in idx])
    batch_b = b.collate_fn()([b[(0, i)] for i in idx])
    assert batch_a[0].tolist() == idx and len(batch_a[1]) == 2
    assert batch_a[1][0].shape == (4, 3, 32, 32) and batch_a[1][0].dtype == torch.uint8
    for va, vb in zip(batch_a[1], batch_b[1]):
        assert torch.equal(va, vb)
    assert not torch.equal(batch_a[1][0], batch_a[1][1])               # the two views differ
    other = a.collate_fn()([a[(1, i)] for i in idx])
    assert not torch.equal(batch_a[1][0], other[1][0])
    other_seed = build_datasets(cfg, RECIPES, seed=4).train
    reseeded = other_seed.collate_fn()([other_seed[(0, i)] for i in idx])
    assert not torch.equal(batch_a[1][0], reseeded[1][0])
    x = a.collate_fn()([a[(2, i)] for i in (3, 5)])
    y = a.collate_fn()([a[(2, i)] for i in (5, 7)])
    for v in range(2):
        assert torch.equal(x[1][v][1], y[1][v][0])


def test_views_differ_between_indices_of_equal_images(tmp_path, tiny):
    """The view seed depends on the index: identical images at different indices get different views."""
    wrote = write_cifar(tmp_path / 'cifar', 'cifar100', n_train=4, n_test=1)
    path = wrote['folder'] / 'train'
    with open(path, 'rb') as f:
        batch = pickle.load(f, encoding='bytes')
    batch[b'data'][:] = batch[b'data'][0]
    with open(path, 'wb') as f:
        pickle.dump(batch, f, protocol=2)
    ds = build_datasets(dict(type='cifar100', root=str(tmp_path / 'cifar'), image_size=32), RECIPES, 0).train
    assert torch.equal(ds.load(0), ds.load(3))
    _, views, _ = ds.collate_fn()([ds[(0, i)] for i in range(4)])
    assert len({views[0][k].numpy().tobytes() for k in range(4)}) == 4
    # the per-sample path (files): a copy of image 0 at index 1 is viewed differently
    tw, root = tiny
    (a, _), (b, _) = tw['train'][0], tw['train'][1]
    b.write_bytes(a.read_bytes())
    files = build_datasets(dict(type='tiny_imagenet', root=str(root), image_size=32), RECIPES, 0).train
    i, j = files.paths.index(a), files.paths.index(b)
    assert torch.equal(files.load(i), files.load(j))
    assert not torch.equal(files[(0, i)][1][0], files[(0, j)][1][0])


def test_image_files_views_are_seeded_per_sample(tiny):
    _, root = tiny
    cfg = dict(type='tiny_imagenet', root=str(root), image_size=32)
    a, b = (build_datasets(cfg, RECIPES, seed=7).train for _ in range(2))
    assert not a.batched_views
    first = a[(0, 1)]
    _ = a[(0, 2)], a[(5, 1)]                                              # other draws in between
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    again = a[(0, 1)]
    assert torch.equal(torch.rand(3), expected_next)                    # the global RNG is left alone
    fresh = b[(0, 1)]
    assert first[0] == 1 and first[2] == int(a.labels[1]) and len(first[1]) == 2
    assert tuple(first[1][0].shape) == (3, 32, 32) and first[1][0].dtype == torch.uint8
    for v in range(2):
        assert torch.equal(first[1][v], again[1][v]) and torch.equal(first[1][v], fresh[1][v])
    assert not torch.equal(first[1][0], a[(1, 1)][1][0])
    assert not torch.equal(first[1][0], build_datasets(cfg, RECIPES, seed=8).train[(0, 1)][1][0])
    batch = a.collate_fn()([a[(0, i)] for i in (1, 4)])
    assert torch.equal(batch[1][0][0], first[1][0])


# --- centre view of 96 px images ----------------------------------------------------------------------
def test_center_box_matches_torchvision_resize_and_crop():
    resized = TF.resize(torch.zeros(1, 96, 96), [73], antialias=True)
    assert tuple(resized.shape[-2:]) == (73, 73) and round(64 / 0.875) == 73
    rows = torch.arange(73).view(1, 73, 1).expand(1, 73, 73)
    cols = torch.arange(73).view(1, 1, 73).expand(1, 73, 73)
    top = int(TF.center_crop(rows, [64, 64])[0, 0, 0])
    left = int(TF.center_crop(cols, [64, 64])[0, 0, 0])
    assert top in (4, 5) and left in (4, 5)
    scale = 96 / 73
    expected = (left * scale, top * scale, (left + 64) * scale, (top + 64) * scale)
    assert np.allclose(BatchViews('center', 64).center_box(96, 96), expected, atol=1e-6)
    assert BatchViews('center', 64).center_box(64, 64) == (0, 0, 64, 64)


def test_batched_center_view_of_stl_matches_per_sample(tmp_path):
    write_stl10(tmp_path, n_train=1, n_test=3, n_unlabeled=1, smooth=True, seed=9)
    val = build_datasets(dict(type='stl10', root=str(tmp_path), image_size=64), RECIPES, seed=0).val
    assert val.batched_views
    _, views, _ = val.collate_fn()([val[(0, i)] for i in range(3)])
    assert views[0].shape == (3, 3, 64, 64)
    per_sample = CenterView(64)
    for k in range(3):
        img = val.load(k)
        ref = per_sample(img).float()
        diff = (views[0][k].float() - ref).abs().mean()
        assert diff < 3, diff
        # and closer to it than the crops one resized pixel off (Resize(73), then a 64 px crop at 4 +- 1)
        resized = TF.resize(img, [73], antialias=True)
        assert torch.equal(TF.crop(resized, 4, 4, 64, 64), per_sample(img))
        for dt, dl in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            off = TF.crop(resized, 4 + dt, 4 + dl, 64, 64).float()
            assert (views[0][k].float() - ref).abs().mean() < (off - ref).abs().mean()


# --- training_images without data --------------------------------------------------------------------
@pytest.mark.parametrize('kind', [k for k in KINDS if k != 'embedded'])
@pytest.mark.parametrize('root', [None, '', 'missing', 'a_file'])
def test_training_images_without_root(tmp_path, kind, root):
    cfg = dict(type=kind, image_size=32)
    if root is not None:
        cfg['root'] = str(tmp_path / root) if root else root
    if root == 'a_file':
        (tmp_path / root).write_text('not a folder')
    with pytest.raises(DataError, match='--data-root'):
        training_images(cfg)


def test_training_images_on_the_wrong_folder(tmp_path):
    """An existing folder holding another kind's files: DataError for each kind, naming what it expected."""
    write_cifar(tmp_path, 'cifar10', n_train=2, n_test=1)
    for kind in ('cifar100', 'stl10', 'imagenet', 'imagenet100', 'tiny_imagenet', 'imagefolder'):
        with pytest.raises(DataError):
            training_images(dict(type=kind, root=str(tmp_path), image_size=32))
