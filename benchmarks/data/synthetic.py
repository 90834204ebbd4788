"""The embedded default dataset: procedurally generated shapes under nuisance variation.

Nothing can be downloaded at run time, so the default benchmark runs on images this module draws,
deterministically from a seed, in a few seconds. Each image holds one object whose *shape* is the
class (circle, square, triangle, star, ...). Like natural categories, a class also has weak
colour and texture tendencies (with probability ``class_colour_prob`` the object's hue is near its
class hue, with probability ``class_texture_prob`` it wears its class texture), so features must
combine shape with unreliable appearance cues. Everything else is nuisance that a good
representation must ignore and that defeats nearest neighbours on raw pixels:

* colour: background colours, and the object colour when the class tendency is not drawn;
* texture: the object wears one of 11 surface patterns (stripes, checker, dots, rings, waves, ...)
  with random frequency and orientation;
* background clutter: a muted colour gradient, random line segments and blobs;
* geometry: position, scale and in-plane rotation (every shape is drawn at any angle);
* sensor noise: additive Gaussian noise.

Rendering is vectorised over a chunk of images with numpy; object silhouettes are anti-aliased by 2x
supersampling. The object painter (`paint_objects`) takes arbitrary centres, sizes and angles and
returns each object's coverage mask, so a detection variant (several objects per canvas, boxes from
the masks) and a class-disjoint retrieval split (`SyntheticSpec.num_classes` up to 13 shapes) reuse it.

Arrays are uint8 HWC (``[N, H, W, 3]``); labels int64 ``[N]``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.cachefill import fill

GENERATOR_VERSION = 4  # bump when the drawing changes, so caches are not reused across versions


# --- shapes: boolean "inside" tests in the object frame, unit radius --------------------------------
def _polar(u, v):
    return np.hypot(u, v), np.arctan2(v, u)


def _regular_polygon(n):
    def inside(u, v):
        r, t = _polar(u, v)
        sector = 2 * np.pi / n
        return r * np.cos(np.mod(t, sector) - sector / 2) <= np.cos(np.pi / n)
    return inside


def _star(u, v):
    r, t = _polar(u, v)
    return r <= 0.55 + 0.45 * np.abs(np.cos(2.5 * t))


def _cross(u, v):
    au, av = np.abs(u), np.abs(v)
    return ((au <= 0.3) & (av <= 0.95)) | ((av <= 0.3) & (au <= 0.95))


def _ring(u, v):
    r = np.hypot(u, v)
    return (r <= 0.95) & (r >= 0.55)


def _crescent(u, v):
    return (np.hypot(u, v) <= 0.95) & (np.hypot(u - 0.45, v) >= 0.75)


def _semicircle(u, v):
    return (np.hypot(u, v + 0.35) <= 0.95) & (v >= -0.35)


def _arrow(u, v):
    shaft = (np.abs(v) <= 0.2) & (u >= -0.95) & (u <= 0.2)
    head = (u >= 0.1) & (u <= 0.95) & (np.abs(v) <= 0.75 * (0.95 - u) / 0.85)
    return shaft | head


def _tee(u, v):
    return ((v >= 0.45) & (v <= 0.9) & (np.abs(u) <= 0.9)) | ((np.abs(u) <= 0.22) & (v >= -0.9) & (v <= 0.9))


def _heart(u, v):
    x, y = u * 1.25, v * 1.25 + 0.15
    return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0


def _ellbow(u, v):
    return ((u >= -0.9) & (u <= -0.35) & (np.abs(v) <= 0.9)) | ((v >= -0.9) & (v <= -0.35) & (u >= -0.9) & (u <= 0.9))


SHAPES = {
    'circle': lambda u, v: np.hypot(u, v) <= 0.9,
    'square': _regular_polygon(4),
    'triangle': _regular_polygon(3),
    'star': _star,
    'cross': _cross,
    'ring': _ring,
    'crescent': _crescent,
    'semicircle': _semicircle,
    'arrow': _arrow,
    'tee': _tee,
    'heart': _heart,
    'ell': _ellbow,
    'hexagon': _regular_polygon(6),
}
SHAPE_NAMES = list(SHAPES)


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines the generated images (the cache key)."""
    num_classes: int = 10
    train_per_class: int = 500
    val_per_class: int = 100
    image_size: int = 64
    seed: int = 0
    scale: tuple = (0.3, 0.48)        # object radius as a fraction of the image side
    class_colour_prob: float = 0.3    # P(object hue drawn near its class hue)
    class_texture_prob: float = 0.7   # P(object wears its class texture)
    clutter_lines: int = 4
    clutter_blobs: int = 3
    noise_std: float = 6.0

    def __post_init__(self):
        if not 2 <= self.num_classes <= len(SHAPES):
            raise ValueError(f'num_classes must be in [2, {len(SHAPES)}] (shapes: {SHAPE_NAMES}); '
                             f'got {self.num_classes}')
        if self.image_size < 16:
            raise ValueError(f'image_size must be >= 16, got {self.image_size}')

    @property
    def class_names(self):
        return SHAPE_NAMES[:self.num_classes]

    def key(self) -> str:
        from benchmarks.code_version import DATA_SOURCES, code_version
        blob = json.dumps(dict(asdict(self), version=GENERATOR_VERSION, code=code_version(DATA_SOURCES)), sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


# --- drawing ---------------------------------------------------------------------------------------
def _random_colours(rng, n, hue=None, sat=(0.35, 1.0), val=(0.35, 1.0)):
    """Random RGB colours in [0, 1], [n, 3]; ``hue`` [n] fixes the hue (else uniform)."""
    hue = rng.random(n) if hue is None else hue % 1.0
    sat = rng.uniform(*sat, n)
    val = rng.uniform(*val, n)
    k = (np.array([5.0, 3.0, 1.0])[None, :] + hue[:, None] * 6) % 6  # HSV -> RGB, vectorised
    rgb = val[:, None] - val[:, None] * sat[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1)
    return rgb.astype(np.float32)


def _tri(x):
    """Triangle wave in [0, 1] with period 2π."""
    return np.abs((x / np.pi) % 2 - 1)


# Surface patterns as functions of (a, c, r, f): rotated coordinates, radius and angular frequency.
TEXTURES = {
    'plain': lambda a, c, r, f: np.zeros_like(a),
    'stripes': lambda a, c, r, f: np.sin(f * a) > 0,
    'checker': lambda a, c, r, f: (np.sin(f * a) > 0) ^ (np.sin(f * c) > 0),
    'dots': lambda a, c, r, f: np.sin(f * a) * np.sin(f * c) > 0.5,
    'rings': lambda a, c, r, f: np.sin(1.5 * f * r) > 0,
    'waves': lambda a, c, r, f: np.sin(f * a + 2.0 * np.sin(f * c)) > 0,
    'hatch': lambda a, c, r, f: (np.abs(np.sin(f * a)) < 0.35) | (np.abs(np.sin(f * c)) < 0.35),
    'spots': lambda a, c, r, f: np.sin(0.5 * f * a) * np.sin(0.5 * f * c) > 0.6,
    'zigzag': lambda a, c, r, f: np.sin(f * a + 3.0 * _tri(f * c)) > 0,
    'bands': lambda a, c, r, f: _tri(0.5 * f * a) > 0.75,
    'diamonds': lambda a, c, r, f: _tri(f * (a + c) / 2) + _tri(f * (a - c) / 2) > 1.0,
}
TEXTURE_NAMES = list(TEXTURES)


def _pattern(rng, u, v, kind=None):
    """Per-image texture mask in [0, 1] (kind indexes TEXTURES; random if None). u, v: [B, H, W]."""
    b = u.shape[0]
    kind = rng.integers(0, len(TEXTURES), b) if kind is None else np.asarray(kind)
    freq = (rng.uniform(2.0, 5.0, b)[:, None, None] * np.pi).astype(np.float32)
    phi = rng.uniform(0, np.pi, b)[:, None, None].astype(np.float32)
    out = np.zeros_like(u, dtype=np.float32)
    for k in np.unique(kind):
        sel = kind == k
        cs, sn = np.cos(phi[sel]), np.sin(phi[sel])
        us, vs = u[sel], v[sel]
        a, c = us * cs + vs * sn, -us * sn + vs * cs
        out[sel] = TEXTURES[TEXTURE_NAMES[k]](a, c, np.hypot(us, vs), freq[sel])
    return out


def background(rng, b, grid):
    yy, xx = grid
    # muted backgrounds, so the object (not the scenery) is what stands out, as in object-centric photos
    c1, c2 = _random_colours(rng, b, sat=(0.05, 0.5)), _random_colours(rng, b, sat=(0.05, 0.5))
    ang = rng.uniform(0, 2 * np.pi, b)[:, None, None].astype(np.float32)
    ramp = (xx[None] * np.cos(ang) + yy[None] * np.sin(ang)) * 0.5 + 0.5   # [B,H,W] in ~[0,1]
    img = c1[:, None, None, :] * (1 - ramp[..., None]) + c2[:, None, None, :] * ramp[..., None]
    return img


def clutter(rng, img, grid, n_lines, n_blobs, px):
    """Random line segments and blobs drawn over the background (before the objects)."""
    yy, xx = grid
    b = img.shape[0]
    for _ in range(n_lines):
        p0 = rng.uniform(-1, 1, (b, 2)).astype(np.float32)
        p1 = p0 + rng.uniform(-0.8, 0.8, (b, 2)).astype(np.float32)
        d = p1 - p0
        t = ((xx[None] - p0[:, 0, None, None]) * d[:, 0, None, None]
             + (yy[None] - p0[:, 1, None, None]) * d[:, 1, None, None]) / (d ** 2).sum(1)[:, None, None]
        t = np.clip(t, 0, 1)
        dist = np.hypot(xx[None] - p0[:, 0, None, None] - t * d[:, 0, None, None],
                        yy[None] - p0[:, 1, None, None] - t * d[:, 1, None, None])
        width = (rng.uniform(0.6, 1.6, b)[:, None, None] * px).astype(np.float32)
        m = (dist <= width)[..., None]
        img = np.where(m, _random_colours(rng, b)[:, None, None, :], img)
    for _ in range(n_blobs):
        c = rng.uniform(-1, 1, (b, 2)).astype(np.float32)
        r = rng.uniform(0.04, 0.12, b)[:, None, None].astype(np.float32)
        m = (np.hypot(xx[None] - c[:, 0, None, None], yy[None] - c[:, 1, None, None]) <= r)[..., None]
        img = np.where(m, _random_colours(rng, b)[:, None, None, :], img)
    return img


def coordinate_grid(size, supersample=1):
    """Pixel-centre coordinates in [-1, 1]: (yy, xx), each float32 [size*supersample]^2."""
    n = size * supersample
    lin = ((np.arange(n, dtype=np.float32) + 0.5) / n * 2 - 1).astype(np.float32)
    return np.meshgrid(lin, lin, indexing='ij')


def _object_frame(grid, centres, radii, angles):
    yy, xx = grid
    cos = np.cos(angles).astype(np.float32)[:, None, None]
    sin = np.sin(angles).astype(np.float32)[:, None, None]
    dx = xx[None] - centres[:, 0, None, None].astype(np.float32)
    dy = yy[None] - centres[:, 1, None, None].astype(np.float32)
    r = radii.astype(np.float32)[:, None, None]
    return (dx * cos + dy * sin) / r, (-dx * sin + dy * cos) / r


def paint_objects(rng, img, classes, centres, radii, angles, supersample=2, colour_prob=0.0, texture_prob=0.0,
                  num_classes=len(SHAPES)):
    """Paint one object per image onto ``img`` (float32 [B,H,W,3] in [0,1]).

    classes: [B] int; centres: [B, 2] in [-1, 1] image coordinates (x, y); radii: [B] (same units);
    angles: [B] radians. The silhouette is anti-aliased by ``supersample``x supersampling.
    ``colour_prob`` / ``texture_prob``: probability that the object takes its class hue / texture
    (class hues are spread evenly over the ``num_classes`` classes in use).
    Returns (img, alpha [B,H,W] float32 coverage in [0, 1]). Colours and textures come from rng.
    """
    b, h = img.shape[:2]
    u, v = _object_frame(coordinate_grid(h, supersample), centres, radii, angles)
    mask = np.zeros(u.shape, dtype=np.float32)
    for c in np.unique(classes):
        sel = classes == c
        mask[sel] = SHAPES[SHAPE_NAMES[c]](u[sel], v[sel])
    alpha = mask.reshape(b, h, supersample, h, supersample).mean(axis=(2, 4))[..., None]
    class_hue = classes / num_classes + rng.normal(0, 0.03, b)
    hue = np.where(rng.random(b) < colour_prob, class_hue, rng.random(b))
    fg1, fg2 = _random_colours(rng, b, hue=hue), _random_colours(rng, b)
    kind = np.where(rng.random(b) < texture_prob, classes % len(TEXTURES), rng.integers(0, len(TEXTURES), b))
    tex = _pattern(rng, *_object_frame(coordinate_grid(h), centres, radii, angles), kind=kind)[..., None]
    fg = fg1[:, None, None, :] * (1 - tex) + fg2[:, None, None, :] * tex
    return img * (1 - alpha) + fg * alpha, alpha[..., 0]


def render_classification(spec: SyntheticSpec, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one image per label: [N] int -> uint8 [N, S, S, 3]."""
    grid = coordinate_grid(spec.image_size)
    b = len(labels)
    img = background(rng, b, grid)
    img = clutter(rng, img, grid, spec.clutter_lines, spec.clutter_blobs, px=2.0 / spec.image_size)
    radii = rng.uniform(*spec.scale, b) * 2
    centres = rng.uniform(-1, 1, (b, 2)) * (1 - radii[:, None]) * 0.9
    angles = rng.uniform(0, 2 * np.pi, b)
    img, _ = paint_objects(rng, img, labels, centres, radii, angles, colour_prob=spec.class_colour_prob,
                           texture_prob=spec.class_texture_prob, num_classes=spec.num_classes)
    img = img * 255.0 + rng.normal(0, spec.noise_std, img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# below this many pixels a split renders faster in-process than it takes to start worker processes
PARALLEL_MIN_PIXELS = 50_000_000


def _render_chunk(spec: SyntheticSpec, split: str, i: int, labels: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng([spec.seed, 0 if split == 'train' else 1, i])
    return render_classification(spec, labels, rng)


def generate_split(spec: SyntheticSpec, split: str, chunk: int = 250, workers: int | None = None):
    """All images of one split, deterministic in (spec, split). Returns (images uint8, labels int64).

    Each chunk of ``chunk`` images has its own generator, so chunks render independently: large splits
    (e.g. 224 px for GPU runs) are rendered by ``workers`` processes (default: every core) with
    results identical to one process."""
    per_class = {'train': spec.train_per_class, 'val': spec.val_per_class}[split]
    labels = np.repeat(np.arange(spec.num_classes), per_class)
    order_rng = np.random.default_rng([spec.seed, 0 if split == 'train' else 1, 7])
    labels = labels[order_rng.permutation(len(labels))].astype(np.int64)
    images = np.empty((len(labels), spec.image_size, spec.image_size, 3), dtype=np.uint8)
    starts = list(range(0, len(labels), chunk))
    if workers is None:
        big = len(labels) * spec.image_size ** 2 >= PARALLEL_MIN_PIXELS
        workers = min(os.cpu_count() or 1, len(starts)) if big else 1
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        # spawn, not fork: the caller may hold BLAS/OpenMP thread pools that a forked child inherits locked
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context('spawn')) as pool:
            parts = pool.map(_render_chunk, [spec] * len(starts), [split] * len(starts), range(len(starts)),
                             [labels[s:s + chunk] for s in starts])
            for start, part in zip(starts, parts):
                images[start:start + len(part)] = part
        return images, labels
    for i, start in enumerate(starts):
        images[start:start + chunk] = _render_chunk(spec, split, i, labels[start:start + chunk])
    return images, labels


def default_cache_dir() -> Path:
    """Where generated data and trained teachers are cached ($SSLCB_CACHE or ~/.cache/...)."""
    return Path(os.environ.get('SSLCB_CACHE', Path.home() / '.cache' / 'ssl-compress-bench'))


def materialise(spec: SyntheticSpec, cache_dir: Path | None = None) -> Path:
    """Write (once) the train/val arrays of ``spec`` into the cache; return their folder. Concurrent
    callers (torchrun ranks, two runs) wait for one writer (`benchmarks.cachefill.fill`)."""
    root = Path(cache_dir or default_cache_dir()) / 'embedded' / spec.key()

    def produce(tmp: Path):
        tmp.mkdir(parents=True)
        for split in ('train', 'val'):
            images, labels = generate_split(spec, split)
            np.savez(tmp / f'{split}.npz', images=images, labels=labels)
        (tmp / 'done.json').write_text(json.dumps(dict(asdict(spec), version=GENERATOR_VERSION,
                                                       classes=spec.class_names), indent=1))

    return fill(root, produce, complete=lambda p: (p / 'done.json').is_file(), what='the embedded data')
