"""The embedded detection dataset: several shapes per image, with boxes, in PASCAL VOC and COCO layouts.

The detection-transfer evaluation (Faster R-CNN through mmdet, run in a subprocess) needs a dataset
on disk that nothing has to download. This module draws one with the painter of the embedded
classification data (`benchmarks.data.synthetic.paint_objects`, same shapes, textures, class colour and
texture tendencies, backgrounds, clutter and noise) and writes it in the two layouts mmdet 3.3 reads
unchanged, so the same images can be evaluated with the VOC protocol (``VOCDataset`` +
``VOCMetric``, mAP@0.5) or the COCO protocol (``CocoDataset`` + ``CocoMetric``, AP@[.5:.95]).

Scene (deterministic in ``(spec, split)``)
    An image holds ``objects[0]..objects[1]`` objects (uniform count); each has a uniform class out
    of ``spec.class_names``, a radius drawn from ``scale`` (fraction of the image side), a uniform
    angle, and a centre drawn so that the object lies inside the image (no truncation). Centres are
    re-drawn (up to ``PLACEMENT_TRIES`` times) until the object's bounding square overlaps every
    earlier object's square by IoU <= ``max_overlap``. Objects are painted one slot at a time, each
    call to ``paint_objects`` painting slot ``k`` of every image that has a k-th object; later
    objects occlude earlier ones.

Boxes
    Each object's *visible* coverage is its alpha times ``(1 - alpha)`` of every object painted
    after it (its exact weight in the composited pixel). The box is the tight box of the pixels
    where that visible coverage exceeds 0.5. Objects whose visible area (pixels > 0.5) is below
    ``min_visible`` (30 %) of their unoccluded area are **dropped from the annotations** (they stay
    painted, like the unlabelled fragments of real scenes). An image that cannot place its objects
    under ``max_overlap`` or that keeps fewer than ``objects[0]`` objects is redrawn from a new
    random stream, so every image holds ``objects[0]..objects[1]`` annotated objects.

Box conventions (the three places a box appears)
    * arrays from `generate_detection_split` and COCO ``bbox``: continuous pixel coordinates with
      the image's top-left corner at (0, 0): a box covering pixel columns ``c0..c1`` (0-based,
      inclusive) has ``x1 = c0`` and ``x2 = c1 + 1`` (exclusive), so ``w = x2 - x1`` is the number
      of pixels (COCO's convention; mmdet's ``CocoDataset`` loads ``[x, y, x + w, y + h]``);
    * VOC XML: 1-based inclusive pixel indices, ``xmin = c0 + 1 = x1 + 1``, ``xmax = c1 + 1 = x2``.
      mmdet 3.3's ``XMLDataset._parse_instance_info`` subtracts 1 from *all four* values, giving
      ``[c0, r0, c1, r1]`` (0-based, inclusive max): the VOC legacy convention that its
      ``VOCMetric`` pairs with ``use_legacy_coordinate`` (+1 in widths). So a VOC box loaded by
      mmdet is one pixel narrower than the same box loaded from the COCO layout; each protocol is
      self-consistent.

On-disk layout (`materialise_detection`: ``<cache>/detection/<key>/``)::

    voc/VOC2007/JPEGImages/<id>.jpg   voc/VOC2007/Annotations/<id>.xml
    voc/VOC2007/ImageSets/Main/trainval.txt (train split)   .../test.txt (val split)
    coco/train/<id>.jpg   coco/val/<id>.jpg
    coco/annotations/instances_train.json   coco/annotations/instances_val.json
    done.json (spec, versions, classes, counts; written last)

Ids are ``train_000000``, ``val_000000``, ... (file stems in both layouts); COCO image ids are the
1-based position in the split, annotation ids 1-based and running over the split, category ids
``1..num_classes`` in ``class_names`` order. mmdet configs: ``VOCDataset(data_root=<root>/voc,
ann_file='VOC2007/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2007/'),
metainfo=dict(classes=spec.class_names))`` and ``CocoDataset(data_root=<root>/coco,
ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
metainfo=dict(classes=spec.class_names))``. Images are JPEG, quality 95 (torchvision.io).
"""
from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.io import encode_jpeg

from benchmarks.cachefill import fill
from benchmarks.data.synthetic import (GENERATOR_VERSION, SHAPE_NAMES, SHAPES, background, clutter, coordinate_grid, default_cache_dir,
                        paint_objects)

__all__ = ['DetectionSpec', 'DETECTION_GENERATOR_VERSION', 'generate_detection_split', 'write_voc', 'write_coco',
           'materialise_detection', 'tight_boxes', 'visible_objects', 'SPLITS', 'VOC_IMAGE_SETS']

DETECTION_GENERATOR_VERSION = 1   # bump when scenes, boxes or layouts change (GENERATOR_VERSION is keyed too)
SPLITS = ('train', 'val')
VOC_IMAGE_SETS = {'train': 'trainval', 'val': 'test'}
PLACEMENT_TRIES = 100   # centre re-draws per object before the whole image is redrawn
MAX_REDRAWS = 50        # image redraws before giving up (only an infeasible spec gets there)
JPEG_QUALITY = 95


@dataclass(frozen=True)
class DetectionSpec:
    """Everything that determines the generated detection data (the cache key).

    objects: (min, max) annotated objects per image; scale: object radius as a fraction of the
    image side; max_overlap: IoU limit between the bounding squares of two objects of one image;
    min_visible: objects whose visible area is below this fraction of their full area are dropped.
    The other fields mean what they mean in `benchmarks.data.synthetic.SyntheticSpec`.
    """
    num_classes: int = 10
    train_images: int = 200
    val_images: int = 50
    image_size: int = 128
    objects: tuple = (1, 4)
    scale: tuple = (0.12, 0.25)
    class_colour_prob: float = 0.3
    class_texture_prob: float = 0.7
    clutter_lines: int = 4
    clutter_blobs: int = 3
    noise_std: float = 6.0
    seed: int = 0
    max_overlap: float = 0.3
    min_visible: float = 0.3

    def __post_init__(self):
        # lists (e.g. from a config file) would make the frozen spec unhashable and key differently
        object.__setattr__(self, 'objects', tuple(int(v) for v in self.objects))
        object.__setattr__(self, 'scale', tuple(float(v) for v in self.scale))
        if not 1 <= self.num_classes <= len(SHAPES):
            raise ValueError(f'num_classes must be in [1, {len(SHAPES)}] (shapes: {SHAPE_NAMES}); '
                             f'got {self.num_classes}')
        if self.image_size < 16:
            raise ValueError(f'image_size must be >= 16, got {self.image_size}')
        if len(self.objects) != 2 or not 1 <= self.objects[0] <= self.objects[1]:
            raise ValueError(f'objects must be (min, max) with 1 <= min <= max, got {self.objects}')
        if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1] < 0.5:
            raise ValueError(f'scale must be (min, max) radius fractions with 0 < min <= max < 0.5, '
                             f'got {self.scale}')
        if not 0 < self.max_overlap <= 1:
            raise ValueError(f'max_overlap must be in (0, 1], got {self.max_overlap}')
        if not 0 <= self.min_visible <= 1:
            raise ValueError(f'min_visible must be in [0, 1], got {self.min_visible}')
        if self.train_images < 1 or self.val_images < 1:
            raise ValueError(f'train_images and val_images must be >= 1, got {self.train_images}, '
                             f'{self.val_images}')

    @property
    def class_names(self) -> list:
        """Class names of both layouts, in label order (COCO category id = label + 1)."""
        return SHAPE_NAMES[:self.num_classes]

    def num_images(self, split: str) -> int:
        return {'train': self.train_images, 'val': self.val_images}[split]

    def key(self) -> str:
        from benchmarks.code_version import DETECTION_DATA_SOURCES, code_version
        blob = json.dumps(dict(asdict(self), version=DETECTION_GENERATOR_VERSION, painter_version=GENERATOR_VERSION,
                               code=code_version(DETECTION_DATA_SOURCES)),
                          sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


# --- scene layout ---------------------------------------------------------------------------------
def _square_iou(c, r, cs, rs):
    """IoU of the squares ``c ± r`` ([B, 2], [B]) with ``cs ± rs`` ([B, K, 2], [B, K]) -> [B, K]."""
    lo = np.maximum(c[:, None] - r[:, None, None], cs - rs[..., None])
    hi = np.minimum(c[:, None] + r[:, None, None], cs + rs[..., None])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    union = (2 * r[:, None]) ** 2 + (2 * rs) ** 2 - inter
    return inter / union


def _place(rng, counts, radii, max_overlap):
    """Centres [B, K, 2] in [-1, 1] keeping each object inside the image and its square's IoU with
    every earlier object's <= max_overlap; returns (centres, placed [B] bool)."""
    b, k_max = radii.shape
    centres = np.zeros((b, k_max, 2))
    placed = np.ones(b, dtype=bool)
    for k in range(k_max):
        pending = k < counts
        for _ in range(PLACEMENT_TRIES):
            idx = np.flatnonzero(pending)
            if not len(idx):
                break
            centres[idx, k] = rng.uniform(-1, 1, (len(idx), 2)) * (1 - radii[idx, k])[:, None]
            if k == 0:
                pending[idx] = False
            else:   # slots before k are all active where slot k is (counts fill slots from 0)
                iou = _square_iou(centres[idx, k], radii[idx, k], centres[idx, :k], radii[idx, :k])
                pending[idx] = (iou > max_overlap).any(1)
        placed &= ~pending
    return centres, placed


def tight_boxes(masks: np.ndarray) -> np.ndarray:
    """Tight boxes of boolean masks [M, H, W] -> float32 [M, 4] (x1, y1, x2, y2), x2/y2 exclusive.

    Every mask must be non-empty."""
    cols, rows = masks.any(1), masks.any(2)
    h, w = masks.shape[1:]
    x1, y1 = cols.argmax(1), rows.argmax(1)
    x2, y2 = w - cols[:, ::-1].argmax(1), h - rows[:, ::-1].argmax(1)
    return np.stack([x1, y1, x2, y2], 1).astype(np.float32)


def visible_objects(visible: np.ndarray, full_area: np.ndarray, active: np.ndarray, min_visible: float):
    """Which objects are annotated: visible [B, K, H, W] bool (visible coverage > 0.5), full_area
    [B, K] (pixels of the unoccluded coverage > 0.5), active [B, K] bool -> keep [B, K] bool.

    An object is kept if it is active, has a visible pixel, and its visible area is at least
    ``min_visible`` of its full area."""
    area = visible.sum((2, 3))
    return active & (area > 0) & (area >= min_visible * full_area)


def _render(spec: DetectionSpec, counts: np.ndarray, rng: np.random.Generator):
    """Draw len(counts) scenes. Returns (images uint8 [B, S, S, 3], classes [B, K], visible
    [B, K, S, S] bool, keep [B, K] bool, ok [B] bool: placed under max_overlap and enough kept)."""
    b, k_max, size = len(counts), spec.objects[1], spec.image_size
    grid = coordinate_grid(size)
    classes = rng.integers(0, spec.num_classes, (b, k_max))
    radii = rng.uniform(*spec.scale, (b, k_max)) * 2   # the image spans 2 units in paint coordinates
    angles = rng.uniform(0, 2 * np.pi, (b, k_max))
    centres, placed = _place(rng, counts, radii, spec.max_overlap)
    img = background(rng, b, grid)
    img = clutter(rng, img, grid, spec.clutter_lines, spec.clutter_blobs, px=2.0 / size)
    coverage = np.zeros((b, k_max, size, size), dtype=np.float32)   # each object's weight in the final pixel
    full_area = np.zeros((b, k_max), dtype=np.int64)
    for k in range(k_max):
        act = np.flatnonzero(k < counts)
        if not len(act):
            continue
        painted, alpha = paint_objects(rng, img[act], classes[act, k], centres[act, k], radii[act, k], angles[act, k],
                                       colour_prob=spec.class_colour_prob, texture_prob=spec.class_texture_prob,
                                       num_classes=spec.num_classes)
        img[act] = painted
        coverage[act, :k] *= (1 - alpha)[:, None]   # slot k occludes every earlier slot
        coverage[act, k] = alpha
        full_area[act, k] = (alpha > 0.5).sum((1, 2))
    img = img * 255.0 + rng.normal(0, spec.noise_std, img.shape).astype(np.float32)
    images = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    visible = coverage > 0.5
    active = np.arange(k_max)[None] < counts[:, None]
    keep = visible_objects(visible, full_area, active, spec.min_visible)
    ok = placed & (keep.sum(1) >= spec.objects[0])
    return images, classes, visible, keep, ok


def generate_detection_split(spec: DetectionSpec, split: str, chunk: int = 64, return_masks: bool = False):
    """All images of one split, deterministic in ``(spec, split)``. Images are drawn ``chunk`` at a
    time, one random stream per chunk, so keep the default ``chunk`` to reproduce the cached data.

    Returns (images uint8 [N, S, S, 3], annotations): one dict per image with ``boxes`` float32
    [M, 4] (x1, y1, x2, y2; pixels, x2/y2 exclusive, see the module docstring) and ``labels``
    int64 [M] (positions in ``spec.class_names``), objects in painting order (later ones on top).
    With ``return_masks`` each dict also holds ``masks`` bool [M, S, S]: the visible pixels whose
    tight box is ``boxes``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    sid = SPLITS.index(split)
    n = spec.num_images(split)
    lo, hi = spec.objects
    counts = np.random.default_rng([spec.seed, sid, 0xDE7]).integers(lo, hi + 1, n)
    images = np.empty((n, spec.image_size, spec.image_size, 3), dtype=np.uint8)
    annotations = [None] * n
    for c, start in enumerate(range(0, n, chunk)):
        todo = np.arange(start, min(start + chunk, n))
        for attempt in range(MAX_REDRAWS):
            rng = np.random.default_rng([spec.seed, sid, c, attempt, 0xDE7])
            imgs, classes, visible, keep, ok = _render(spec, counts[todo], rng)
            for j in np.flatnonzero(ok):
                i = todo[j]
                images[i] = imgs[j]
                masks = visible[j][keep[j]]
                annotations[i] = dict(boxes=tight_boxes(masks), labels=classes[j][keep[j]].astype(np.int64))
                if return_masks:
                    annotations[i]['masks'] = masks
            todo = todo[~ok]
            if not len(todo):
                break
        else:
            raise RuntimeError(f'{len(todo)} image(s) of the {split} split could not be drawn with '
                               f'{spec.objects[1]} objects of radius {spec.scale} under max_overlap='
                               f'{spec.max_overlap} in {MAX_REDRAWS} tries; allow more overlap, fewer or '
                               f'smaller objects.')
    return images, annotations


# --- writers --------------------------------------------------------------------------------------
def _image_ids(split: str, n: int) -> list:
    return [f'{split}_{i:06d}' for i in range(n)]


def _jpegs(images: np.ndarray) -> list:
    """uint8 [N, H, W, 3] -> JPEG bytes per image."""
    tensors = [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))) for im in images]
    return [t.numpy().tobytes() for t in encode_jpeg(tensors, quality=JPEG_QUALITY)]


def _splits(spec, splits):
    return splits if splits is not None else {s: generate_detection_split(spec, s) for s in SPLITS}


def _voc_xml(spec: DetectionSpec, image_id: str, ann: dict) -> bytes:
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2007'
    ET.SubElement(root, 'filename').text = f'{image_id}.jpg'
    source = ET.SubElement(root, 'source')
    ET.SubElement(source, 'database').text = 'ssl-compress-bench embedded detection shapes'
    size = ET.SubElement(root, 'size')
    for tag, value in (('width', spec.image_size), ('height', spec.image_size), ('depth', 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, 'segmented').text = '0'
    for (x1, y1, x2, y2), label in zip(ann['boxes'].astype(int).tolist(), ann['labels'].tolist()):
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = spec.class_names[label]
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'   # objects are placed wholly inside the image
        ET.SubElement(obj, 'difficult').text = '0'
        box = ET.SubElement(obj, 'bndbox')
        # 1-based inclusive: first pixel c0 -> c0 + 1 = x1 + 1; last pixel c1 -> c1 + 1 = x2 (exclusive x2)
        for tag, value in (('xmin', x1 + 1), ('ymin', y1 + 1), ('xmax', x2), ('ymax', y2)):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8')


def write_voc(spec: DetectionSpec, root, splits: dict | None = None) -> Path:
    """Write the PASCAL VOC 2007 layout under ``root/VOC2007`` (train split -> trainval.txt, val
    split -> test.txt); ``splits`` ({split: (images, annotations)}) reuses generated data. Returns
    ``root``."""
    root = Path(root)
    base = root / 'VOC2007'
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for split, (images, annotations) in _splits(spec, splits).items():
        ids = _image_ids(split, len(images))
        for image_id, jpeg, ann in zip(ids, _jpegs(images), annotations):
            (base / 'JPEGImages' / f'{image_id}.jpg').write_bytes(jpeg)
            (base / 'Annotations' / f'{image_id}.xml').write_bytes(_voc_xml(spec, image_id, ann))
        (base / 'ImageSets' / 'Main' / f'{VOC_IMAGE_SETS[split]}.txt').write_text(''.join(f'{i}\n' for i in ids))
    return root


def _coco_json(spec: DetectionSpec, split: str, annotations: list) -> dict:
    size = spec.image_size
    images, anns = [], []
    for pos, (image_id, ann) in enumerate(zip(_image_ids(split, len(annotations)), annotations)):
        images.append(dict(id=pos + 1, file_name=f'{image_id}.jpg', width=size, height=size))
        for (x1, y1, x2, y2), label in zip(ann['boxes'].tolist(), ann['labels'].tolist()):
            w, h = x2 - x1, y2 - y1
            # The box as a polygon: pycocotools and mmdet accept it; area matches it, so COCO's
            # small/medium/large ranges are box areas (the masks are not exported).
            anns.append(dict(id=len(anns) + 1, image_id=pos + 1, category_id=label + 1, bbox=[x1, y1, w, h],
                             area=w * h, iscrowd=0, segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]]))
    return dict(
        # pycocotools 2.0.9/2.0.10 COCO.loadRes reads dataset['info']; keep it present
        info=dict(description=f'ssl-compress-bench embedded detection shapes, {split} split',
                  version=f'{DETECTION_GENERATOR_VERSION}.{GENERATOR_VERSION}', spec_key=spec.key()),
        licenses=[], images=images, annotations=anns,
        categories=[dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(spec.class_names)])


def write_coco(spec: DetectionSpec, root, splits: dict | None = None) -> Path:
    """Write the COCO layout: ``root/{train,val}/<id>.jpg`` and
    ``root/annotations/instances_{train,val}.json``; ``splits`` as in `write_voc`. Returns ``root``."""
    root = Path(root)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    for split, (images, annotations) in _splits(spec, splits).items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for image_id, jpeg in zip(_image_ids(split, len(images)), _jpegs(images)):
            (folder / f'{image_id}.jpg').write_bytes(jpeg)
        (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(_coco_json(spec, split, annotations)))
    return root


def materialise_detection(spec: DetectionSpec, cache_dir: Path | None = None) -> Path:
    """Write (once) both layouts of ``spec`` under ``<cache>/detection/<key>/{voc,coco}``; return
    that folder. Everything is written into a temporary sibling folder, ``done.json`` last, and
    the folder renamed into place under a lock (`benchmarks.cachefill.fill`), so a folder under its
    key is always complete and concurrent callers wait for one writer."""
    root = Path(cache_dir or default_cache_dir()) / 'detection' / spec.key()

    def produce(tmp: Path):
        tmp.mkdir(parents=True)
        splits = {s: generate_detection_split(spec, s) for s in SPLITS}
        write_voc(spec, tmp / 'voc', splits)
        write_coco(spec, tmp / 'coco', splits)
        counts = {s: dict(images=len(a), objects=int(sum(len(x['labels']) for x in a))) for s, (_, a) in splits.items()}
        (tmp / 'done.json').write_text(json.dumps(dict(asdict(spec), version=DETECTION_GENERATOR_VERSION,
                                                       painter_version=GENERATOR_VERSION, classes=spec.class_names,
                                                       counts=counts), indent=1))

    return fill(root, produce, complete=lambda p: (p / 'done.json').is_file(), what='the embedded detection data')
