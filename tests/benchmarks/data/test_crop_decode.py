"""``data.decode='crop'``: image files decoded straight into their views' crops (reduced JPEG scale), the
rest of the recipe batched. Same boxes and parameters as the batched recipes; pixels within a few grey
levels of a full decode + antialiased resize."""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from benchmarks.data.batch_views import BatchViews, PendingViews
from benchmarks.data.crops import decode_crops, reduction
from benchmarks.data.datasets import ArrayDataset, ImageFolderDataset
from benchmarks.data.imagefolder import decode_rgb
from benchmarks.errors import DataError


def _smooth(h, w, seed=0):
    """A smooth colour image (low frequencies only), so resampling filters barely differ."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    chans = [127 + 100 * np.sin(2 * np.pi * (rng.uniform(0.3, 1.2) * x + rng.uniform(0.3, 1.2) * y) + rng.uniform(0, 6))
             for _ in range(3)]
    return np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8)


def _folder(root, n=6, size=(60, 80), fmt='png', classes=('ant', 'bee')):
    arrays = []
    for i in range(n):
        img = _smooth(*size, seed=i)
        d = root / 'train' / classes[i % len(classes)]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f'{i:02d}.{fmt}', quality=95)
        arrays.append(img)
    return arrays


def test_reduction_keeps_every_box_at_least_the_view_size():
    assert reduction([(0, 0, 500, 375)], 224) == 1
    assert reduction([(0, 0, 500, 460)], 224) == 2
    assert reduction([(0, 0, 2000, 1900)], 224) == 8
    assert reduction([(0, 0, 2000, 1900), (10, 10, 1900, 1800)], 224) == 4   # 1790 / 8 < 224
    assert reduction([(0, 0, 2000, 1900), (0, 0, 300, 300)], 224) == 1   # the smallest box decides


def test_crops_match_a_full_decode_and_antialiased_resize(tmp_path):
    img = _smooth(375, 500)
    path = tmp_path / 'a.png'
    Image.fromarray(img).save(path)
    boxes = [(10.0, 20.0, 410.0, 300.0), (0.0, 0.0, 500.0, 375.0)]
    crops, hw = decode_crops(path, lambda h, w: boxes, 64)
    assert hw == (375, 500) and [c.shape for c in crops] == [(3, 64, 64)] * 2 and crops[0].dtype == torch.uint8
    full = torch.from_numpy(img).permute(2, 0, 1)
    for crop, (l, t, r, b) in zip(crops, boxes):
        ref = TF.resized_crop(full, int(t), int(l), int(b - t), int(r - l), [64, 64], antialias=True)
        assert (crop.float() - ref.float()).abs().mean() < 2.0


def test_jpeg_is_decoded_at_a_reduced_scale_when_the_boxes_allow(tmp_path, monkeypatch):
    img = _smooth(600, 800)
    path = tmp_path / 'big.jpg'
    Image.fromarray(img).save(path, quality=95)
    from PIL import JpegImagePlugin
    asked = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        asked.append(size)
        return real(self, mode, size)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, 'draft', spy)
    crops, _ = decode_crops(path, lambda h, w: [(0.0, 0.0, float(w), float(h))], 64)
    assert asked == [(100, 75)]                      # 1/8: the 600 px side still gives 75 >= 64
    ref = TF.resize(decode_rgb(path), [64, 64], antialias=True)
    assert (crops[0].float() - ref.float()).abs().mean() < 3.0
    asked.clear()
    decode_crops(path, lambda h, w: [(0.0, 0.0, 100.0, 100.0)], 64)
    assert asked == []                                # a 100 px box needs the full scale


@pytest.mark.parametrize('recipes', [['compress', 'compress'], ['mocov2', 'mocov2_strong'], ['center']])
def test_crop_path_views_follow_the_batched_recipes(tmp_path, recipes):
    """The same images in memory (batched path) and as PNG files (crop path): the same parameters per
    (seed, epoch, index, view), pixels within the difference of the two resize filters."""
    arrays = _folder(tmp_path, n=6, size=(60, 80))
    files = ImageFolderDataset(tmp_path, 'train', recipes, 32, seed=4, decode='crop')
    order = [files.paths.index(p) for p in sorted(files.paths)]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)[[int(p.stem) for p in files.paths]]
    memory = ArrayDataset(images, files.labels, files.classes, recipes, 32, seed=4)
    keys = [(2, i) for i in order]
    a = files.collate_fn()([files[k] for k in keys])
    b = memory.collate_fn()([memory[k] for k in keys])
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    for va, vb in zip(a[1], b[1]):
        assert va.shape == vb.shape == (6, 3, 32, 32)
        assert (va.float() - vb.float()).abs().mean() < 4.0
    again = files.collate_fn()([files[k] for k in keys])
    assert all(torch.equal(x, y) for x, y in zip(a[1], again[1]))
    other = files.collate_fn()([files[(3, i)] for i in order])
    if recipes != ['center']:
        assert not torch.equal(other[1][0], a[1][0])
    pending = files.collate_fn(views_on_device=True)([files[k] for k in keys])[1]
    assert isinstance(pending, PendingViews) and pending.cropped
    assert all(torch.equal(x, y) for x, y in zip(pending.make(), a[1]))


def test_crop_boxes_are_the_batched_recipes_boxes(tmp_path):
    _folder(tmp_path, n=2, size=(50, 70))
    files = ImageFolderDataset(tmp_path, 'train', ['mocov2'], 24, seed=1, decode='crop')
    item = files[(5, 1)]
    expected = BatchViews('mocov2', 24).sample_params(1, 5, [1], 0, 50, 70)   # the batched recipe, image size 50 x 70
    assert item[3][0].keys() == expected.keys()
    assert all(torch.equal(item[3][0][k], expected[k]) for k in expected)       # drawn once, in the worker
    box = expected['boxes'][0].tolist()
    left, top, right, bottom = box
    full = decode_rgb(files.paths[1])
    ref = TF.resized_crop(full, int(top), int(left), int(bottom - top), int(right - left), [24, 24], antialias=True)
    assert (item[1][0].float() - ref.float()).abs().mean() < 2.0


def test_unreadable_file_in_the_crop_path(tmp_path):
    _folder(tmp_path, n=4, size=(40, 40))
    bad = tmp_path / 'train' / 'ant' / '00.png'
    files = ImageFolderDataset(tmp_path, 'train', ['compress'], 16, decode='crop')
    bad.write_bytes(bad.read_bytes()[:60])             # truncated after the check
    i = files.paths.index(bad)
    with pytest.raises(DataError, match='00.png'):
        files[(0, i)]
    skip = ImageFolderDataset(tmp_path, 'train', ['compress'], 16, decode='crop', on_corrupt='skip')
    with pytest.warns(UserWarning, match='substitute'):
        item = skip[(0, i)]
    assert item[1][0].shape == (3, 16, 16) and item[2] == skip.labels[i]
    assert skip.labels[skip._substitute[i]] == skip.labels[i]


def test_partner_views_crop_the_partners_file(tmp_path):
    """BINGO's bag partners in the crop path: the last views show the partner's pixels, drawn with the
    anchor's generators."""
    for i in range(4):
        d = tmp_path / 'train' / ('ant', 'bee')[i % 2]
        d.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', (40, 30), (40 * i + 10, 40 * i + 10, 40 * i + 10)).save(d / f'{i}.png')
    files = ImageFolderDataset(tmp_path, 'train', ['compress'] * 3, 16, seed=2, decode='crop')
    value = {j: int(p.stem) * 40 + 10 for j, p in enumerate(files.paths)}
    bags = np.array([[(j + 1) % 4] for j in range(4)])
    data = files.with_partners(bags, 1)
    batch = data.collate_fn()([data[(0, j)] for j in range(4)])
    for row in range(4):
        assert set(batch[1][0][row].unique().tolist()) == {value[row]}
        assert set(batch[1][2][row].unique().tolist()) == {value[(row + 1) % 4]}
