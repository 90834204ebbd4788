"""Corrupt / unreadable images in ImageFolder data: the pre-training check and the two policies."""
import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.data.datasets import ImageFolderDataset
from benchmarks.data.sources import build_datasets
from benchmarks.errors import ConfigError, DataError
from benchmarks.data.imagefolder import (CorruptImageWarning, ImageCheck, apply_corrupt_policy, check_images,
                                    corrupt_images_message, decode_rgb, header_problem, sniff_format,
                                    verify_split, write_skipped_images)

HTML = b'<!DOCTYPE html><html><body>404 Not Found</body></html>'


def colour(c, k):
    """The solid colour of good image ``k`` of class ``c``: identifies which file a tensor came from."""
    return (20 * k + 5, 60 * c + 10, 200)


def image_bytes(c, k, fmt, size=(12, 10)):
    buf = io.BytesIO()
    Image.new('RGB', size, colour(c, k)).save(buf, fmt)
    return buf.getvalue()


def truncated_jpeg():
    """A real JPEG cut in the middle of its entropy-coded body: the header is valid, decoding fails."""
    noise = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, 'JPEG')
    return buf.getvalue()[:buf.tell() // 2]


def make_folder(root, per_class=3, classes=('ant', 'bee', 'cat'), extra=None):
    """train/ and val/ with ``per_class`` good PNGs per class, plus ``extra`` {relative path: bytes} in train/."""
    for split in ('train', 'val'):
        for c, name in enumerate(classes):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for k in range(per_class):
                (d / f'{k:02d}.png').write_bytes(image_bytes(c, k, 'PNG'))
    for rel, data in (extra or {}).items():
        (root / 'train' / rel).write_bytes(data)
    return root


def pixel(img):
    """The (r, g, b) of a solid image tensor [3, H, W]."""
    return tuple(int(v) for v in img[:, 0, 0])


# ---------------------------------------------------------------- header and decode checks


def test_signatures_are_recognised_and_strict():
    assert sniff_format(b'\xff\xd8\xff\xe0') == 'JPEG'
    assert sniff_format(b'\x89PNG\r\n\x1a\n\0\0') == 'PNG'
    assert sniff_format(b'BM6\x07') == 'BMP'
    assert sniff_format(b'GIF89a') == 'GIF' and sniff_format(b'GIF87a') == 'GIF'
    assert sniff_format(b'RIFF\x24\0\0\0WEBPVP8 ') == 'WEBP'
    assert sniff_format(b'RIFF\x24\0\0\0WAVEfmt ') is None          # a RIFF that is not WEBP
    assert sniff_format(b'II*\0') == 'TIFF' and sniff_format(b'MM\0*') == 'TIFF'
    assert sniff_format(b'P6\n12 10\n255\n') == 'PNM' and sniff_format(b'P1 ') == 'PNM'
    assert sniff_format(b'P7\n') is None and sniff_format(b'PK\x03\x04') is None
    assert sniff_format(b'P6') is None                               # the magic needs its whitespace
    assert sniff_format(b'\xff\xd8') is None and sniff_format(b'') is None


def test_header_reasons(tmp_path):
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'page.jpg').write_bytes(HTML)
    (tmp_path / 'page.png').write_bytes(HTML)
    (tmp_path / 'page.tiff').write_bytes(b'hello')
    (tmp_path / 'cut.jpg').write_bytes(truncated_jpeg())
    (tmp_path / 'png_named.jpg').write_bytes(image_bytes(0, 0, 'PNG'))
    assert header_problem(tmp_path / 'empty.jpg') == 'empty file'
    assert header_problem(tmp_path / 'page.jpg') == 'not a JPEG (starts with 3c21444f)'
    assert header_problem(tmp_path / 'page.png') == 'not a PNG (starts with 3c21444f)'
    assert header_problem(tmp_path / 'page.tiff') == 'not a TIFF (starts with 68656c6c)'
    assert header_problem(tmp_path / 'missing.jpg').startswith('cannot open')
    # a valid header passes even with a cut body; a PNG named .jpg passes: decoding goes by content
    assert header_problem(tmp_path / 'cut.jpg') is None
    assert header_problem(tmp_path / 'png_named.jpg') is None
    assert pixel(decode_rgb(tmp_path / 'png_named.jpg')) == colour(0, 0)


@pytest.mark.parametrize('ext, fmt', [('jpg', 'JPEG'), ('png', 'PNG'), ('bmp', 'BMP'), ('gif', 'GIF'),
                                      ('tif', 'TIFF'), ('webp', 'WEBP'), ('ppm', 'PPM'), ('pgm', 'PPM')])
def test_every_listed_format_passes_both_checks_and_decodes(tmp_path, ext, fmt):
    path = tmp_path / f'x.{ext}'
    grey = ext == 'pgm'
    img = Image.new('L' if grey else 'RGB', (12, 10), 128 if grey else (30, 90, 200))
    img.save(path, fmt, **({'quality': 100} if fmt == 'JPEG' else {}))
    assert header_problem(path) is None
    assert check_images([path], 'decode').ok
    out = decode_rgb(path)   # BMP/TIFF/PNM go through Pillow: torchvision.io rejects them
    assert out.dtype == torch.uint8 and out.shape == (3, 10, 12)
    expected = np.asarray(Image.open(path).convert('RGB')).transpose(2, 0, 1)
    assert np.array_equal(out.numpy(), expected)


def test_check_images_modes(tmp_path):
    files = {'a.png': image_bytes(0, 0, 'PNG'), 'empty.jpg': b'', 'text.jpg': HTML,
             'cut.jpg': truncated_jpeg(), 'b.jpg': image_bytes(0, 1, 'JPEG'), 'png_named.jpg': image_bytes(0, 2, 'PNG')}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    samples = [(p, 7) for p in paths]

    header = check_images(samples, 'header')
    assert header.checked == 6 and header.mode == 'header'
    assert header.bad == [(tmp_path / 'empty.jpg', 'empty file'),
                          (tmp_path / 'text.jpg', 'not a JPEG (starts with 3c21444f)')]

    decode = check_images(paths, 'decode')                    # plain paths work too
    assert [p.name for p, _ in decode.bad] == ['empty.jpg', 'text.jpg', 'cut.jpg']
    reasons = dict((p.name, r) for p, r in decode.bad)
    assert all(r.startswith('decode failed: ') for r in reasons.values())
    assert 'truncated' in reasons['cut.jpg'] and '.cpp' not in reasons['cut.jpg']   # short, no source location

    assert check_images(samples, 'none') == ImageCheck([], 0, 'none')
    # the threaded path gives the same answer in the same order
    assert check_images(samples * 50, 'header', workers=4).bad == header.bad * 50
    with pytest.raises(ConfigError, match="data.verify_images='quick'"):
        check_images(samples, 'quick')


def test_slow_disks_switch_to_threads_with_the_same_answer(tmp_path, monkeypatch):
    import benchmarks.data.imagefolder as imf
    good, bad = tmp_path / 'good.jpg', tmp_path / 'bad.jpg'
    good.write_bytes(image_bytes(0, 0, 'JPEG'))
    bad.write_bytes(HTML)
    paths = [good, bad, good] * 10
    used = []
    real_pool = imf.ThreadPoolExecutor
    monkeypatch.setattr(imf, 'ThreadPoolExecutor', lambda n: used.append(n) or real_pool(n))
    monkeypatch.setattr(imf, 'PARALLEL_FROM', 8)
    monkeypatch.setattr(imf, 'PROBE_FILES', 4)
    fast = check_images(paths, 'header')                      # a warm tmp dir: well under 50 us per file
    assert used == []
    monkeypatch.setattr(imf, 'SLOW_FILE_S', 0.0)              # every disk counts as slow
    monkeypatch.setattr(imf, '_RECENT_CHECKS', {})            # (or the unchanged files reuse the first result)
    slow = check_images(paths, 'header')
    assert used == [imf.SLOW_WORKERS]
    assert slow == fast and [p for p, _ in slow.bad] == [bad] * 10


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new('RGB', (8, 6), c) for c in ((250, 0, 0), (0, 0, 250))]
    frames[0].save(tmp_path / 'a.gif', save_all=True, append_images=frames[1:], duration=50)
    out = decode_rgb(tmp_path / 'a.gif')
    assert out.shape == (3, 6, 8) and pixel(out)[0] > 200 and pixel(out)[2] < 50


# ---------------------------------------------------------------- policy 'fail'


def test_fail_policy_lists_files_reasons_total_and_both_fixes(tmp_path):
    root = make_folder(tmp_path / 'd', extra={'ant/empty.jpg': b'', 'bee/page.jpg': HTML})
    with pytest.raises(DataError) as err:
        ImageFolderDataset(root, 'train', verify='header', on_corrupt='fail')
    text = str(err.value)
    assert text.startswith(f"2 of the 11 images in {root / 'train'} cannot be read (data.verify_images='header')")
    assert f"{root / 'train' / 'ant' / 'empty.jpg'}: empty file" in text
    assert f"{root / 'train' / 'bee' / 'page.jpg'}: not a JPEG (starts with 3c21444f)" in text
    assert 'Remove or replace these files' in text and 'data.on_corrupt=skip' in text
    assert 'skipped_images.txt' in text


def test_fail_message_lists_at_most_ten(tmp_path):
    bad = [(tmp_path / f'{k:02d}.jpg', 'empty file') for k in range(13)]
    text = corrupt_images_message(ImageCheck(bad, 500, 'header'), 'train/')
    assert text.startswith('13 of the 500 images in train/ cannot be read')
    assert '09.jpg' in text and '10.jpg' not in text and '... and 3 more' in text


def test_fail_is_the_default_of_build_datasets(tmp_path):
    root = make_folder(tmp_path / 'd', extra={'cat/zz.png': HTML})
    with pytest.raises(DataError, match='zz.png: not a PNG'):
        build_datasets(dict(type='imagefolder', root=str(root), image_size=16), ['center'], seed=0)
    with pytest.raises(ConfigError, match="data.on_corrupt='ignore'"):
        build_datasets(dict(type='imagefolder', root=str(root), image_size=16, on_corrupt='ignore'), ['center'], 0)
    # verify_images='none' keeps the old behaviour: the bad file is only found when loaded
    train, *_ = build_datasets(dict(type='imagefolder', root=str(root), image_size=16, verify_images='none'),
                              ['center'], seed=0)
    bad = [i for i, p in enumerate(train.paths) if p.name == 'zz.png'][0]
    with pytest.raises(DataError, match='zz.png.*data.on_corrupt=skip'):
        train[bad]


# ---------------------------------------------------------------- policy 'skip' before training


def test_skip_leaves_bad_files_out_and_keeps_labels_aligned(tmp_path):
    extra = {'ant/00_empty.jpg': b'', 'bee/01_page.jpg': HTML, 'cat/png_named.jpg': image_bytes(2, 7, 'PNG')}
    root = make_folder(tmp_path / 'd', extra=extra)
    clean = ImageFolderDataset(root, 'train', verify='none')
    with pytest.warns(CorruptImageWarning, match=r'leaving 2 of the 12 images') as rec:
        ds = ImageFolderDataset(root, 'train', verify='header', on_corrupt='skip')
    assert '00_empty.jpg: empty file' in str(rec[0].message) and '01_page.jpg' in str(rec[0].message)
    assert ds.skipped == [(root / 'train' / 'ant' / '00_empty.jpg', 'empty file'),
                          (root / 'train' / 'bee' / '01_page.jpg', 'not a JPEG (starts with 3c21444f)')]
    assert len(ds) == 10 and ds.classes == clean.classes == ['ant', 'bee', 'cat']
    kept = {p: y for p, y in zip(clean.paths, clean.labels) if p not in dict(ds.skipped)}
    assert dict(zip(ds.paths, ds.labels.tolist())) == kept
    # good images untouched: every kept sample decodes to its own colour under its own label
    for i, path in enumerate(ds.paths):
        c, k = ds.labels[i], (7 if path.name == 'png_named.jpg' else int(path.stem))
        assert ds.classes[c] == path.parent.name and pixel(ds.load(i)) == colour(c, k)
        assert ds[(0, i)][2] == c


def test_skip_keeps_an_emptied_class_and_val_alignment(tmp_path):
    root = make_folder(tmp_path / 'd', per_class=2)
    for p in (root / 'train' / 'bee').iterdir():
        p.write_bytes(b'')                                    # every train image of 'bee' is bad
    with pytest.warns(CorruptImageWarning):
        train, val, *_ = build_datasets(dict(type='imagefolder', root=str(root), image_size=16, on_corrupt='skip'),
                                    ['center'], seed=0)
    assert train.classes == val.classes == ['ant', 'bee', 'cat']
    assert train.labels.tolist() == [0, 0, 2, 2] and val.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(train.skipped) == 2 and val.skipped == []


def test_skip_with_every_image_bad_is_an_error(tmp_path):
    root = tmp_path / 'd' / 'train' / 'ant'
    root.mkdir(parents=True)
    (root / 'a.jpg').write_bytes(HTML)
    with pytest.raises(DataError, match='all 1 images .* nothing is left'):
        verify_split(tmp_path / 'd' / 'train', 'header', 'skip')


def test_decode_mode_finds_the_truncated_jpeg_before_training(tmp_path):
    root = make_folder(tmp_path / 'd', extra={'ant/cut.jpg': truncated_jpeg()})
    assert ImageFolderDataset(root, 'train', verify='header', on_corrupt='fail').skipped == []
    with pytest.raises(DataError, match=r'cut\.jpg: decode failed: .*truncated'):
        ImageFolderDataset(root, 'train', verify='decode', on_corrupt='fail')
    with pytest.warns(CorruptImageWarning):
        classes, kept, skipped = verify_split(root / 'train', 'decode', 'skip')
    assert [p.name for p, _ in skipped] == ['cut.jpg'] and len(kept) == 9 and classes == ['ant', 'bee', 'cat']


def test_write_skipped_images(tmp_path):
    out = tmp_path / 'skipped_images.txt'
    assert write_skipped_images(out, [], []) == 0 and not out.exists()
    assert write_skipped_images(out, [(tmp_path / 'a.jpg', 'empty file')], [('b.png', 'decode failed: x')]) == 2
    assert out.read_text() == f'{tmp_path / "a.jpg"}\tempty file\nb.png\tdecode failed: x\n'


def test_policy_validation(tmp_path):
    check = ImageCheck([(tmp_path / 'x.jpg', 'empty file')], 1, 'header')
    with pytest.raises(ConfigError, match="use 'fail'.*or 'skip'"):
        apply_corrupt_policy([(tmp_path / 'x.jpg', 0)], check, 'drop')
    with pytest.raises(ConfigError, match='data.verify_images'):
        ImageFolderDataset(tmp_path, 'train', verify='full')


# ---------------------------------------------------------------- training-time failures


def test_training_time_failure_fail_names_the_file(tmp_path):
    root = make_folder(tmp_path / 'd', extra={'bee/01_cut.jpg': truncated_jpeg()})
    ds = ImageFolderDataset(root, 'train', verify='header', on_corrupt='fail')
    i = ds.paths.index(root / 'train' / 'bee' / '01_cut.jpg')
    with pytest.raises(DataError, match=r'cannot decode image .*01_cut\.jpg.*Remove or replace'):
        ds[(0, i)]


def test_training_time_failure_skip_substitutes_next_same_class_image(tmp_path):
    root = make_folder(tmp_path / 'd', extra={'bee/01_cut.jpg': truncated_jpeg(), 'bee/99_cut.jpg': truncated_jpeg()})
    ds = ImageFolderDataset(root, 'train', recipes=('center',), image_size=8, verify='header', on_corrupt='skip')
    names = [f'{p.parent.name}/{p.name}' for p in ds.paths]
    assert names[3:8] == ['bee/00.png', 'bee/01.png', 'bee/01_cut.jpg', 'bee/02.png', 'bee/99_cut.jpg']
    cut, last = names.index('bee/01_cut.jpg'), names.index('bee/99_cut.jpg')

    with pytest.warns(CorruptImageWarning, match='01_cut.jpg'):
        img = ds.load(cut)
    assert pixel(img) == colour(1, 2)                         # the next index of the same class that decodes
    index, views, label = ds[(3, cut)]
    assert index == cut and label == 1 and views[0].shape == (3, 8, 8)
    # the last of its class wraps around to the first of the same class, not to the next class
    with pytest.warns(CorruptImageWarning, match='99_cut.jpg'):
        assert pixel(ds.load(last)) == colour(1, 0)

    recorded = ds.failed_images()
    assert [p.name for p, _ in recorded] == ['01_cut.jpg', '99_cut.jpg']
    assert all(r.startswith('decode failed: ') and 'truncated' in r for _, r in recorded)
    # recorded once: later loads (and clones for other recipes) warn nothing and add nothing
    clone = ds.with_recipes(['center'])
    with warnings.catch_warnings():
        warnings.simplefilter('error', CorruptImageWarning)
        for _ in range(3):
            assert pixel(ds.load(cut)) == colour(1, 2) and pixel(clone.load(last)) == colour(1, 0)
    assert len(ds.failed_images()) == len(clone.failed_images()) == 2
    # good images untouched
    assert pixel(ds.load(names.index('bee/00.png'))) == colour(1, 0)


def test_training_time_skip_falls_back_to_another_class_and_errors_when_nothing_decodes(tmp_path):
    root = make_folder(tmp_path / 'd', per_class=1, classes=('ant', 'bee'))
    (root / 'train' / 'ant' / '00.png').unlink()
    (root / 'train' / 'ant' / 'cut.jpg').write_bytes(truncated_jpeg())
    ds = ImageFolderDataset(root, 'train', verify='header', on_corrupt='skip')
    with pytest.warns(CorruptImageWarning) as rec:
        assert pixel(ds.load(0)) == colour(1, 0)
    assert any('no image of class' in str(w.message) and "'ant'" in str(w.message) for w in rec)

    (root / 'train' / 'bee' / '00.png').write_bytes(truncated_jpeg())
    ds = ImageFolderDataset(root, 'train', verify='header', on_corrupt='skip')
    with pytest.warns(CorruptImageWarning), pytest.raises(DataError, match='none of the 2 images .* decodes'):
        ds.load(0)


def test_a_second_check_of_unchanged_files_reuses_the_first_and_a_change_is_seen(tmp_path, monkeypatch):
    import benchmarks.data.imagefolder as imf
    good = tmp_path / 'a.png'
    Image.new('RGB', (4, 4)).save(good)
    calls = []
    real = imf.header_problem
    monkeypatch.setattr(imf, 'header_problem', lambda p: calls.append(p) or real(p))
    assert imf.check_images([good], 'header').ok and len(calls) == 1
    assert imf.check_images([good], 'header').ok and len(calls) == 1      # reused: same files, unchanged
    good.write_bytes(b'not an image at all')                                # size (and mtime) change
    assert not imf.check_images([good], 'header').ok and len(calls) == 2


def test_scan_follows_symlinked_class_folders_and_files(tmp_path):
    """ImageNet-100 style: class folders (and single files) linked from elsewhere are read, as torchvision's
    ImageFolder reads them; the order is the same as for a folder of real files."""
    from benchmarks.data.imagefolder import scan_imagefolder
    store = tmp_path / 'store'
    make_folder(store)
    subset = tmp_path / 'subset' / 'train'
    subset.mkdir(parents=True)
    (subset / 'ant').symlink_to(store / 'train' / 'ant', target_is_directory=True)
    (subset / 'bee').mkdir()
    for f in sorted((store / 'train' / 'bee').iterdir()):
        (subset / 'bee' / f.name).symlink_to(f)
    (subset / 'bee' / 'more').symlink_to(store / 'train' / 'cat', target_is_directory=True)  # nested link
    classes, samples = scan_imagefolder(subset)
    real_classes, real = scan_imagefolder(store / 'train')
    assert classes == ['ant', 'bee']
    n_ant = sum(1 for _, c in real if c == 0)
    assert [p.name for p, c in samples if c == 0] == [p.name for p, c in real if c == 0] and n_ant == 3
    bee = [p.relative_to(subset / 'bee').as_posix() for p, c in samples if c == 1]
    assert bee == sorted(p.name for p, c in real if c == 1) + [f'more/{p.name}' for p, c in real if c == 2]


def test_scan_refuses_a_symlink_loop(tmp_path):
    from benchmarks.data.imagefolder import scan_imagefolder
    make_folder(tmp_path)
    (tmp_path / 'train' / 'ant' / 'again').symlink_to(tmp_path / 'train' / 'ant', target_is_directory=True)
    with pytest.raises(DataError, match='symbolic link into one of its own parent folders'):
        scan_imagefolder(tmp_path / 'train')
