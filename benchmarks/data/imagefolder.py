"""Scanning an ImageFolder layout (``root/<split>/<class>/<image>``) and checking its images before training.

Pure pathlib at import time, so the command line can check a ``--data-root`` before torch is imported
(only ``data.verify_images='decode'`` and `decode_rgb` import torchvision, inside the call).

Corrupt or unreadable images: the documented policy
---------------------------------------------------
An unreadable file used to surface mid-training, when the loader first decoded it. Now it is found first:

* ``data.verify_images`` picks the check run on every image of a split before training (`check_images`):

  - ``'header'`` (default): open each file, read at most `HEADER_BYTES` (32) bytes and require a known
    image signature: JPEG ``FF D8 FF``, PNG ``89 50 4E 47 0D 0A 1A 0A``, BMP ``BM``, GIF ``GIF87a`` /
    ``GIF89a``, WEBP ``RIFF....WEBP``, TIFF ``II*\\0`` / ``MM\\0*``, Netpbm ``P1``..``P6`` followed by
    whitespace (the Netpbm spec requires it). Empty files fail ("empty file"). *Any* known signature
    passes whatever the extension says: the decoder sniffs the content, not the name, so a PNG saved
    as ``.jpg`` trains correctly and is not corrupt. A file with no known signature fails with a reason
    named after its extension, e.g. ``not a JPEG (starts with 3c21444f)``. It finds empty files, HTML
    error pages and text saved under an image name, but not a body cut short behind a valid header.
  - ``'decode'``: decode every image fully with `decode_rgb` (what training does): also finds truncated
    bodies, but costs a full decode per image; meant for small sets.
  - ``'none'``: no check.

* ``data.on_corrupt`` says what a failed check does (`apply_corrupt_policy`):

  - ``'fail'`` (default): `DataError` listing up to `MAX_LISTED` (10) bad files with their reasons and
    the total, naming both fixes (remove/replace the files, or set ``data.on_corrupt=skip``).
  - ``'skip'``: the bad files are left out of the split before training (their class folders still
    count, so class ids and the train/val class lists do not move); a `CorruptImageWarning` lists them
    and the caller writes the full list to ``<run folder>/skipped_images.txt`` (`write_skipped_images`).

* A file that passes the check but still fails to decode at training time (a truncated JPEG behind a
  valid header, under ``'header'``) is handled by the dataset (`benchmarks.data.datasets.ImageFolderDataset`):
  ``'fail'`` raises `DataError` naming the file; ``'skip'`` substitutes a deterministic other sample
  and records the file once, so a run never dies on one bad image.

Not taken from a paper or an official method repository: the signatures are the formats' own
magic numbers (JPEG/JFIF, PNG spec §5.2, BMP, GIF89a, RIFF/WebP container, TIFF 6.0 §2, Netpbm).
"""
from __future__ import annotations

import hashlib
import os

import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.errors import ConfigError, DataError

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')

VERIFY_MODES = ('header', 'decode', 'none')
CORRUPT_POLICIES = ('fail', 'skip')
HEADER_BYTES = 32          # the longest signature checked is 12 bytes (WEBP); 32 leaves room, one read
MAX_LISTED = 10            # bad files named in a DataError
MAX_WARNED = 50            # skipped files named in one warning (all of them go to skipped_images.txt)
PARALLEL_FROM = 4096       # header checks of this many files or more may switch to threads (see check_images)
PROBE_FILES = 1024         # files timed single-threaded to decide
SLOW_FILE_S = 50e-6        # above this per file the disk is latency-bound (network / cold): use threads
SLOW_WORKERS = 16          # threads then; they wait on I/O, not on the 2 cores

# extension -> the format its name promises, used only to word the reason of a failed check
_FAMILY = {'.jpg': 'JPEG', '.jpeg': 'JPEG', '.png': 'PNG', '.bmp': 'BMP', '.gif': 'GIF', '.tif': 'TIFF',
           '.tiff': 'TIFF', '.webp': 'WEBP', '.ppm': 'PPM', '.pgm': 'PGM', '.pbm': 'PBM', '.pnm': 'PNM'}
# formats torchvision.io decodes natively; the others known here go through Pillow in `decode_rgb`
_TORCHVISION_FORMATS = ('JPEG', 'PNG', 'GIF', 'WEBP')


class CorruptImageWarning(UserWarning):
    """Images left out (``data.on_corrupt='skip'``) or replaced at training time because they cannot be read."""


def scan_imagefolder(split_dir: Path):
    """(classes, [(path, class_id)]) of an ImageFolder split; raises DataError when unusable."""
    if not split_dir.is_dir():
        raise DataError(f'{split_dir} does not exist. An ImageFolder dataset root must contain train/ and '
                        f'val/ folders, each with one sub-folder of images per class.')
    classes = sorted(d.name for d in split_dir.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f'{split_dir} has no class sub-folders. Put the images of each class in their own '
                        f'folder, e.g. {split_dir}/<class_name>/img001.jpg.')
    samples = []
    for c, name in enumerate(classes):
        for path in image_files(split_dir / name):
            samples.append((path, c))
    if not samples:
        raise DataError(f'{split_dir} contains no images with a known extension ({", ".join(IMG_EXTENSIONS)}).')
    return classes, samples


def image_files(folder: Path) -> list:
    """Image files under ``folder``, sorted, following symbolic links to folders and files as torchvision's
    ``ImageFolder`` does (ImageNet-100 and other subsets are usually built from symlinked class folders).
    A link back into a folder of its own ancestry would recurse forever: refused with the link named."""
    out = []
    ancestry: list = []

    def walk(d: Path):
        st = d.stat()
        key = (st.st_dev, st.st_ino)
        if key in ancestry:
            raise DataError(f'{d} is a symbolic link into one of its own parent folders (a loop: it resolves to '
                            f'{d.resolve()}). Remove or fix that link; class folders may link to image folders '
                            f'elsewhere, but not to themselves.')
        ancestry.append(key)
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_dir():              # follows links
                walk(path)
            elif entry.is_file() and path.suffix.lower() in IMG_EXTENSIONS:
                out.append(path)
        ancestry.pop()

    walk(folder)
    return out


def sniff_format(head: bytes) -> str | None:
    """The image format whose signature ``head`` (a file's first bytes) starts with, or None.

    Returns one of 'JPEG', 'PNG', 'BMP', 'GIF', 'WEBP', 'TIFF', 'PNM' (module docstring lists the bytes).
    """
    if head[:3] == b'\xff\xd8\xff':
        return 'JPEG'
    if head[:8] == b'\x89PNG\r\n\x1a\n':
        return 'PNG'
    if head[:6] in (b'GIF87a', b'GIF89a'):
        return 'GIF'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'WEBP'
    if head[:4] in (b'II*\x00', b'MM\x00*'):
        return 'TIFF'
    if head[:2] == b'BM':
        return 'BMP'
    if len(head) >= 3 and head[:1] == b'P' and head[1:2] in b'123456' and head[2:3].isspace():
        return 'PNM'
    return None


def header_problem(path) -> str | None:
    """Why ``path`` fails the header check (a short reason), or None when it starts like an image."""
    try:
        with open(path, 'rb') as f:
            head = f.read(HEADER_BYTES)
    except OSError as exc:  # permission denied, dangling link, I/O error
        return f'cannot open: {exc.strerror or exc}'
    if not head:
        return 'empty file'
    if sniff_format(head) is not None:
        return None
    family = _FAMILY.get(Path(path).suffix.lower(), 'known image format')
    article = 'an' if family[0] in 'AEIOU' else 'a'
    return f'not {article} {family} (starts with {head[:4].hex()})'


def decode_rgb(path):
    """Decode an image file as RGB: uint8 tensor ``[3, H, W]``.

    torchvision.io for JPEG/PNG/GIF/WEBP (the fast path); Pillow for BMP, TIFF and Netpbm, which
    torchvision.io 0.29's ``decode_image`` rejects ("Unsupported image file") although
    `IMG_EXTENSIONS` lists them. The format is sniffed from the content, never the extension. An
    animated GIF gives its first frame. Raises whatever the decoder raises (RuntimeError, OSError, ...).
    """
    import io

    import numpy as np
    import torch
    from torchvision.io import ImageReadMode, decode_image

    with open(path, 'rb') as f:
        raw = f.read()
    if not raw:
        raise ValueError('empty file')
    fmt = sniff_format(raw[:HEADER_BYTES])
    if fmt in _TORCHVISION_FORMATS or fmt is None:  # unknown: let torchvision word the error
        img = decode_image(torch.frombuffer(bytearray(raw), dtype=torch.uint8), mode=ImageReadMode.RGB)
        return img[0] if img.ndim == 4 else img
    from PIL import Image
    with Image.open(io.BytesIO(raw)) as im:
        rgb = np.asarray(im.convert('RGB'))          # convert() forces the full decode: truncation raises here
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).contiguous()


def short_reason(exc: BaseException) -> str:
    """A decoder exception as a one-line reason (torchvision's ``func, /src/file.cpp:123,`` prefix dropped)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r'^[\w()]+, \S+:\d+, ', '', text)
    return text if len(text) <= 120 else text[:117] + '...'


def decode_problem(path) -> str | None:
    """Why ``path`` cannot be decoded by `decode_rgb` (``'decode failed: ...'``), or None."""
    try:
        img = decode_rgb(path)
    except Exception as exc:  # noqa: BLE001 -- each decoder raises its own types (RuntimeError, OSError, SyntaxError)
        return f'decode failed: {short_reason(exc)}'
    if img.numel() == 0:
        return 'decode failed: the image has no pixels'
    return None


@dataclass
class ImageCheck:
    """The result of `check_images`: ``bad`` [(path, reason)] in sample order, ``checked`` files examined."""

    bad: list = field(default_factory=list)
    checked: int = 0
    mode: str = 'header'

    @property
    def ok(self) -> bool:
        return not self.bad


def _paths(samples) -> list:
    return [s[0] if isinstance(s, (tuple, list)) else s for s in samples]


def check_options(verify: str, on_corrupt: str) -> None:
    """ConfigError unless ``verify`` is in `VERIFY_MODES` and ``on_corrupt`` in `CORRUPT_POLICIES`."""
    if verify not in VERIFY_MODES:
        raise ConfigError(f'data.verify_images={verify!r} is not a check mode; use one of '
                          f"{', '.join(repr(m) for m in VERIFY_MODES)} ('header' reads the first bytes of each "
                          f"image, 'decode' decodes every image, 'none' skips the check).")
    if on_corrupt not in CORRUPT_POLICIES:
        raise ConfigError(f"data.on_corrupt={on_corrupt!r} is not a policy; use 'fail' (stop with the list of "
                          f"unreadable images) or 'skip' (leave them out of the run).")


def check_images(samples, mode: str = 'header', workers: int | None = None) -> ImageCheck:
    """Check every image of ``samples`` (paths or ``(path, label)`` pairs) before training.

    ``mode``: 'header' (signature of the first `HEADER_BYTES` bytes), 'decode' (full `decode_rgb`) or
    'none' (returns ``ImageCheck([], 0, 'none')``); see the module docstring. ``bad`` keeps the order
    of ``samples``.

    ``workers``: threads for the check. Default: 1, except for a 'header' check of `PARALLEL_FROM`
    files or more whose first `PROBE_FILES` files take over `SLOW_FILE_S` each -- a latency-bound
    (network or cold) file system, where `SLOW_WORKERS` threads overlap the waits (file reads release
    the GIL). On a warm local disk one thread is fastest (measured: ~230k files/s single-threaded vs
    ~75k/s with 2-8 threads on 10k JPEGs, 2 shared cores), hence the probe instead of always threading.
    """
    if mode not in VERIFY_MODES:
        check_options(mode, 'fail')
    paths = _paths(samples)
    if mode == 'none':
        return ImageCheck([], 0, mode)
    # tools/bench.py checks each split before anything heavy is imported and builds the datasets from
    # the same listing a moment later: the second check of the same files, unchanged (name, size and
    # modification time), is the first's result (a stat per file instead of a read or a decode)
    key = (mode, _fingerprint(paths))
    if key[1] is not None and key in _RECENT_CHECKS:
        return _RECENT_CHECKS[key]
    check = _check_paths(paths, mode, workers)
    if key[1] is None:
        return check
    if len(_RECENT_CHECKS) >= 4:
        _RECENT_CHECKS.pop(next(iter(_RECENT_CHECKS)))
    _RECENT_CHECKS[key] = check
    return check


_RECENT_CHECKS: dict = {}  # (mode, fingerprint of the files) -> ImageCheck, the last few in this process


def _fingerprint(paths) -> str | None:
    h = hashlib.sha1()
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            return None  # a file vanished or is unreadable: never reuse, check again
        h.update(f'{p}\0{st.st_size}\0{st.st_mtime_ns}\0'.encode())
    return h.hexdigest()


def _check_paths(paths, mode: str, workers: int | None) -> ImageCheck:
    probe = header_problem if mode == 'header' else decode_problem
    reasons = []
    if workers is None:
        workers = 1
        if mode == 'header' and len(paths) >= PARALLEL_FROM:
            start = time.perf_counter()
            reasons = [probe(p) for p in paths[:PROBE_FILES]]
            if (time.perf_counter() - start) / PROBE_FILES > SLOW_FILE_S:
                workers = SLOW_WORKERS
    rest = paths[len(reasons):]
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            reasons += pool.map(probe, rest, chunksize=64)
    else:
        reasons += [probe(p) for p in rest]
    return ImageCheck([(p, r) for p, r in zip(paths, reasons) if r is not None], len(paths), mode)


def _listing(bad, limit: int) -> str:
    lines = [f'  {p}: {r}' for p, r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f'  ... and {len(bad) - limit} more')
    return '\n'.join(lines)


def corrupt_images_message(check: ImageCheck, where) -> str:
    """The ``on_corrupt='fail'`` error text: up to `MAX_LISTED` files with reasons, the total, both fixes."""
    n = len(check.bad)
    return (f'{n} of the {check.checked} images in {where} cannot be read (data.verify_images='
            f'{check.mode!r}):\n{_listing(check.bad, MAX_LISTED)}\n'
            f'Remove or replace {"this file" if n == 1 else "these files"}, or set data.on_corrupt=skip '
            f'(--cfg-options data.on_corrupt=skip) to leave unreadable images out of the run; they are '
            f'then listed in skipped_images.txt in the run folder.')


def apply_corrupt_policy(samples, check: ImageCheck, on_corrupt: str = 'fail', where='the dataset'):
    """Apply ``data.on_corrupt`` to a check: ``(kept_samples, skipped)``, ``skipped`` = [(path, reason)].

    'fail' raises `DataError` (`corrupt_images_message`) when ``check.bad`` is not empty; 'skip' drops
    the bad samples (order and labels of the others untouched) and warns with `CorruptImageWarning`.
    A split whose every image is bad raises `DataError` under both policies.
    """
    check_options(check.mode, on_corrupt)
    samples = list(samples)
    if not check.bad:
        return samples, []
    if on_corrupt == 'fail':
        raise DataError(corrupt_images_message(check, where))
    bad = {p for p, _ in check.bad}
    kept = [s for s, p in zip(samples, _paths(samples)) if p not in bad]
    if not kept:
        raise DataError(f'all {len(samples)} images in {where} fail the data.verify_images={check.mode!r} check '
                        f'(e.g. {check.bad[0][0]}: {check.bad[0][1]}), so nothing is left after skipping them. '
                        f'Check that --data-root points at the image files themselves (not placeholders from an '
                        f'incomplete download or an LFS checkout) and extract or download the dataset again.')
    warnings.warn(f'data.on_corrupt=skip: leaving {len(check.bad)} of the {check.checked} images in {where} out '
                  f'of the run (data.verify_images={check.mode!r}):\n{_listing(check.bad, MAX_WARNED)}',
                  CorruptImageWarning, stacklevel=2)
    return kept, list(check.bad)


def verify_split(split_dir: Path, verify: str = 'header', on_corrupt: str = 'fail'):
    """Scan and check one split: ``(classes, kept [(path, class_id)], skipped [(path, reason)])``.

    `scan_imagefolder` then `check_images` then `apply_corrupt_policy`: the whole pre-training check of
    a split (what ``validate_inputs`` runs for train/ and val/).
    """
    check_options(verify, on_corrupt)
    classes, samples = scan_imagefolder(Path(split_dir))
    kept, skipped = apply_corrupt_policy(samples, check_images(samples, verify), on_corrupt, split_dir)
    return classes, kept, skipped


def write_skipped_images(path, *entries) -> int:
    """Write ``(path, reason)`` entries (several lists allowed) as ``<path>\\t<reason>`` lines; returns the count.

    Nothing is written when there are no entries, so an existing ``skipped_images.txt`` means images were left out.
    """
    rows = [(p, r) for group in entries for p, r in group]
    if rows:
        Path(path).write_text(''.join(f'{p}\t{r}\n' for p, r in rows))
    return len(rows)
