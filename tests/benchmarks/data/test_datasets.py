"""Embedded generator, view seeding, batched views and the ImageFolder loader."""
import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from benchmarks.data.batch_views import BatchViews, _blur, _hsv_to_rgb, _rgb_to_hsv
from benchmarks.data.datasets import DataError, EmbeddedDataset, ImageFolderDataset
from benchmarks.data.sources import build_datasets
from benchmarks.data.synthetic import SHAPE_NAMES, SyntheticSpec, generate_split, materialise
from tests.helpers.data import TINY, write_imagefolder


def test_generator_is_deterministic_and_balanced():
    a, la = generate_split(TINY, 'train')
    b, lb = generate_split(TINY, 'train')
    assert a.dtype == np.uint8 and a.shape == (24, 32, 32, 3)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert np.bincount(la).tolist() == [6, 6, 6, 6]
    c, _ = generate_split(SyntheticSpec(num_classes=4, train_per_class=6, val_per_class=3, image_size=32, seed=1), 'train')
    assert not np.array_equal(a, c)
    v, _ = generate_split(TINY, 'val')
    assert not np.array_equal(a[:12], v)


def test_parallel_rendering_is_identical_to_one_process():
    spec = SyntheticSpec(num_classes=3, train_per_class=6, val_per_class=2, image_size=32)
    one, labels_one = generate_split(spec, 'train', chunk=5, workers=1)
    two, labels_two = generate_split(spec, 'train', chunk=5, workers=2)  # 4 chunks over 2 processes
    assert np.array_equal(one, two) and np.array_equal(labels_one, labels_two)


def test_spec_validation():
    with pytest.raises(ValueError, match='num_classes'):
        SyntheticSpec(num_classes=len(SHAPE_NAMES) + 1)


def test_materialise_caches(tmp_path):
    root = materialise(TINY, tmp_path)
    assert (root / 'done.json').exists() and (root / 'train.npz').exists()
    stamp = (root / 'train.npz').stat().st_mtime_ns
    assert materialise(TINY, tmp_path) == root
    assert (root / 'train.npz').stat().st_mtime_ns == stamp


def test_views_are_seeded_per_sample_and_epoch(tmp_path):
    ds = EmbeddedDataset('train', TINY, ['compress', 'mocov2'], seed=3, cache_dir=tmp_path)
    collate = ds.collate_fn()
    full = collate([ds[(0, i)] for i in range(8)])
    again = collate([ds[(0, i)] for i in (5, 2)])
    assert torch.equal(full[1][0][5], again[1][0][0]) and torch.equal(full[1][1][2], again[1][1][1])
    other_epoch = collate([ds[(1, i)] for i in range(8)])
    assert not torch.equal(full[1][0], other_epoch[1][0])
    assert full[1][0].dtype == torch.uint8 and full[1][0].shape == (8, 3, 32, 32)
    assert full[0].tolist() == list(range(8))


def test_center_view_is_the_image(tmp_path):
    ds = EmbeddedDataset('val', TINY, ['center'], cache_dir=tmp_path)
    index, views, label = ds.collate_fn()([ds[i] for i in range(3)])
    assert torch.equal(views[0], ds.images[:3])


def test_batched_colour_ops_match_torchvision():
    x = torch.rand(6, 3, 8, 8)
    h, s, v = _rgb_to_hsv(x)
    assert torch.allclose(_hsv_to_rgb(h, s, v), x, atol=1e-5)
    ref = torch.stack([TF.adjust_hue(xi, 0.07) for xi in x])
    assert torch.allclose(_hsv_to_rgb((h + 0.07) % 1.0, s, v), ref, atol=1e-5)
    assert torch.equal(_blur(x, torch.zeros(6), 5), x)
    blurred = _blur(x, torch.full((6,), 1.0), 5)
    assert blurred.std() < x.std()


def test_rrc_boxes_stay_inside_the_image():
    bv = BatchViews('compress', 32)
    p = bv.sample_params(0, 0, list(range(200)), 0, 40, 50)
    b = p['boxes']
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= 50).all() and (b[:, 3] <= 40).all()
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) / (40 * 50)
    assert areas.min() >= 0.07 and areas.max() <= 1.0


def test_imagefolder_loader(tmp_path):
    root = write_imagefolder(tmp_path / 'folder')
    train, val, _, _ = build_datasets(dict(type='imagefolder', root=str(root), image_size=32), ['compress'], seed=0)
    assert len(train) == 24 and len(val) == 12 and train.classes == sorted(TINY.class_names)
    index, views, label = train[3]
    assert views[0].shape == (3, 32, 32) and views[0].dtype == torch.uint8


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DataError, match='train/ and'):
        ImageFolderDataset(tmp_path / 'missing', 'train')
    (tmp_path / 'empty' / 'train').mkdir(parents=True)
    with pytest.raises(DataError, match='no class sub-folders'):
        ImageFolderDataset(tmp_path / 'empty', 'train')
    (tmp_path / 'empty' / 'train' / 'cat').mkdir()
    with pytest.raises(DataError, match='no images'):
        ImageFolderDataset(tmp_path / 'empty', 'train')
    root = write_imagefolder(tmp_path / 'bad', corrupt=True)
    ds = ImageFolderDataset(root, 'train')
    broken = [i for i, p in enumerate(ds.paths) if p.name == 'broken.png'][0]
    with pytest.raises(DataError, match='broken.png'):
        ds[broken]


def test_the_nuisance_of_the_embedded_data_is_set_from_the_config():
    """data.clutter_lines / clutter_blobs / noise_std / class_*_prob reach the generator (and its cache key)."""
    from benchmarks.config import resolve
    from benchmarks.data.synthetic import SyntheticSpec
    cfg = resolve('default', options={'data.clutter_lines': 4, 'data.clutter_blobs': 3, 'data.noise_std': 6.0,
                                      'data.train_per_class': 2, 'data.val_per_class': 2, 'data.num_classes': 2,
                                      'data.image_size': 16})
    spec = SyntheticSpec(**{k: v for k, v in cfg.data.items() if k in SyntheticSpec.__dataclass_fields__})
    assert (spec.clutter_lines, spec.clutter_blobs, spec.noise_std) == (4, 3, 6.0)
    clean = SyntheticSpec(num_classes=2, train_per_class=2, val_per_class=2, image_size=16, clutter_lines=0,
                          clutter_blobs=0, noise_std=0.0)
    assert spec.key() != clean.key()
    default = resolve('default')
    # the default suite draws clean images: no clutter, no sensor noise, the generator's class tendencies
    assert SyntheticSpec(**{k: v for k, v in default.data.items() if k in SyntheticSpec.__dataclass_fields__}) \
        == SyntheticSpec(clutter_lines=0, clutter_blobs=0, noise_std=0.0)
