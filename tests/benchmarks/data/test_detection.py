"""Tests for benchmarks.data.detection: scenes, boxes, VOC / COCO layouts, the cache."""
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pytest
from torchvision.io import ImageReadMode, decode_image

import benchmarks.data.detection as dd
import benchmarks.data.synthetic as synthetic
from benchmarks.data.detection import (DetectionSpec, generate_detection_split, materialise_detection, tight_boxes,
                                       visible_objects, write_coco, write_voc)

SPEC = DetectionSpec(train_images=12, val_images=4, image_size=64, objects=(1, 3))


def _reference_box(mask):
    """Tight box (x1, y1, x2, y2), x2/y2 exclusive, by listing the pixels (independent of tight_boxes)."""
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.fixture(scope='module')
def train_split():
    return generate_detection_split(SPEC, 'train', return_masks=True)


@pytest.fixture(scope='module')
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp('det_layouts')
    splits = {s: generate_detection_split(SPEC, s) for s in dd.SPLITS}
    return write_voc(SPEC, root / 'voc', splits), write_coco(SPEC, root / 'coco', splits), splits


def test_spec_validation_and_key():
    assert DetectionSpec(objects=[1, 4], scale=[0.12, 0.25]) == DetectionSpec()   # lists from configs
    assert hash(DetectionSpec(objects=[1, 4])) == hash(DetectionSpec())
    assert DetectionSpec().key() == DetectionSpec().key()
    assert DetectionSpec(max_overlap=0.5).key() != DetectionSpec().key()
    assert DetectionSpec(num_classes=4).class_names == synthetic.SHAPE_NAMES[:4]
    for bad in (dict(objects=(3, 2)), dict(objects=(0, 2)), dict(scale=(0.2, 0.6)), dict(num_classes=99),
                dict(max_overlap=0.0), dict(image_size=8), dict(val_images=0)):
        with pytest.raises(ValueError):
            DetectionSpec(**bad)


def test_deterministic_and_seeded(train_split):
    images, anns = train_split
    images2, anns2 = generate_detection_split(SPEC, 'train')
    np.testing.assert_array_equal(images, images2)
    for a, b in zip(anns, anns2):
        np.testing.assert_array_equal(a['boxes'], b['boxes'])
        np.testing.assert_array_equal(a['labels'], b['labels'])
    other, other_anns = generate_detection_split(replace(SPEC, seed=1), 'train')
    assert not np.array_equal(images, other)
    assert any(len(a['boxes']) != len(b['boxes']) or not np.array_equal(a['boxes'], b['boxes'])
               for a, b in zip(anns, other_anns))
    val, _ = generate_detection_split(SPEC, 'val')
    assert not np.array_equal(images[:len(val)], val)


def test_shapes_ranges_and_tight_boxes(train_split):
    images, anns = train_split
    s = SPEC.image_size
    assert images.shape == (12, s, s, 3) and images.dtype == np.uint8
    counts = [len(a['labels']) for a in anns]
    assert min(counts) >= SPEC.objects[0] and max(counts) <= SPEC.objects[1]
    assert len(set(counts)) > 1   # the count varies
    for a in anns:
        boxes, labels, masks = a['boxes'], a['labels'], a['masks']
        assert boxes.dtype == np.float32 and boxes.shape == (len(labels), 4)
        assert labels.dtype == np.int64 and ((labels >= 0) & (labels < SPEC.num_classes)).all()
        assert (boxes >= 0).all() and (boxes <= s).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        for box, mask in zip(boxes, masks):
            assert box.tolist() == _reference_box(mask)
        # visible parts are where each object is on top: no pixel belongs to two objects
        assert masks.sum(0).max() <= 1


def test_visibility_and_drop_rule_from_painted_alphas(monkeypatch):
    """Recompute every object's visible mask from the alphas paint_objects returned (hooked), by
    compositing in painting order, and check boxes and the 30 % drop rule against it."""
    spec = DetectionSpec(image_size=48, objects=(2, 4), scale=(0.2, 0.3), max_overlap=1.0, clutter_lines=0,
                         clutter_blobs=0)   # no overlap limit: many occlusions and some drops
    calls = []

    def recording(*args, **kwargs):
        out = synthetic.paint_objects(*args, **kwargs)
        calls.append(out[1].copy())
        return out

    monkeypatch.setattr(dd, 'paint_objects', recording)
    counts = np.array([2, 4, 3, 4, 4, 2, 3, 4, 4, 4])
    _, classes, visible, keep, ok = dd._render(spec, counts, np.random.default_rng(3))
    assert len(calls) == 4
    dropped = 0
    for i, n in enumerate(counts):
        alphas = [calls[k][np.flatnonzero(k < counts).tolist().index(i)] for k in range(n)]
        for j in range(n):
            cover = alphas[j] * np.prod([1 - alphas[k] for k in range(j + 1, n)], axis=0)
            vis = cover > 0.5
            np.testing.assert_array_equal(visible[i, j], vis)
            kept = vis.sum() > 0 and vis.sum() >= 0.3 * (alphas[j] > 0.5).sum()
            assert keep[i, j] == kept
            dropped += not kept
        assert not keep[i, n:].any()
        assert ok[i] == (keep[i].sum() >= spec.objects[0])
    assert dropped > 0   # the scenario exercises the drop rule


def test_visible_objects_threshold():
    visible = np.zeros((1, 3, 10, 10), dtype=bool)
    visible[0, 0, :3, :10] = True   # 30 of 100: kept
    visible[0, 1, :2, :10] = True   # 20 of 100: dropped
    visible[0, 2, :1, :1] = True    # inactive slot
    keep = visible_objects(visible, np.array([[100, 100, 1]]), np.array([[True, True, False]]), 0.3)
    assert keep.tolist() == [[True, False, False]]
    assert tight_boxes(visible[0, :2]).tolist() == [[0, 0, 10, 3], [0, 0, 10, 2]]


def test_box_matches_rendered_pixels(monkeypatch):
    """White objects on black, no clutter or noise: the pixel value is the coverage, so the box
    must be the tight box of the pixels whose value says coverage > 0.5."""
    monkeypatch.setattr(synthetic, '_random_colours', lambda rng, n, hue=None, **kw: np.ones((n, 3), np.float32))
    monkeypatch.setattr(dd, 'background', lambda rng, b, grid: np.zeros((b, *grid[0].shape, 3), np.float32))
    spec = DetectionSpec(train_images=8, image_size=40, objects=(1, 1), noise_std=0.0, clutter_lines=0,
                         clutter_blobs=0)
    images, anns = generate_detection_split(spec, 'train')
    for image, ann in zip(images, anns):
        assert len(ann['boxes']) == 1
        # 2x2 supersampling: coverage in quarters; > 0.5 means 0.75 or 1, i.e. value >= 191
        assert set(np.unique(image)) <= {0, 64, 128, 191, 255}
        assert ann['boxes'][0].tolist() == _reference_box(image[..., 0] >= 191)


def test_placement_respects_overlap_and_image():
    rng = np.random.default_rng(0)
    radii = rng.uniform(0.24, 0.5, (50, 4))
    counts = np.full(50, 4)
    centres, placed = dd._place(rng, counts, radii, 0.3)
    assert placed.mean() > 0.5
    for c, r in zip(centres[placed], radii[placed]):
        assert (np.abs(c) + r[:, None] <= 1 + 1e-9).all()
        for k in range(1, 4):
            assert (dd._square_iou(c[None, k], r[None, k], c[None, :k], r[None, :k]) <= 0.3).all()


def test_voc_layout_round_trips(layouts):
    voc, _, splits = layouts
    base = voc / 'VOC2007'
    for split, image_set in dd.VOC_IMAGE_SETS.items():
        images, anns = splits[split]
        ids = (base / 'ImageSets' / 'Main' / f'{image_set}.txt').read_text().split()
        assert ids == [f'{split}_{i:06d}' for i in range(len(images))]
        for image_id, ann in zip(ids, anns):
            root = ET.parse(base / 'Annotations' / f'{image_id}.xml').getroot()
            assert root.tag == 'annotation' and root.findtext('filename') == f'{image_id}.jpg'
            assert [int(root.find('size').findtext(t)) for t in ('width', 'height', 'depth')] == [64, 64, 3]
            objs = root.findall('object')
            assert [o.findtext('name') for o in objs] == [SPEC.class_names[c] for c in ann['labels']]
            for obj, box in zip(objs, ann['boxes']):
                assert (obj.findtext('pose'), obj.findtext('truncated'), obj.findtext('difficult')) == \
                    ('Unspecified', '0', '0')
                xmin, ymin, xmax, ymax = (int(obj.find('bndbox').findtext(t)) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
                # 1-based inclusive pixel indices of the first and last covered pixel
                x1, y1, x2, y2 = box.astype(int).tolist()
                assert (xmin, ymin, xmax, ymax) == (x1 + 1, y1 + 1, x2, y2)
                assert 1 <= xmin <= xmax <= 64 and 1 <= ymin <= ymax <= 64
        jpg = decode_image(str(base / 'JPEGImages' / f'{ids[0]}.jpg'), mode=ImageReadMode.RGB)
        assert jpg.shape == (3, 64, 64)
        # the file holds this image (JPEG q95 with chroma subsampling and noisy pixels: not bit-exact)
        err = [np.abs(jpg.permute(1, 2, 0).numpy().astype(int) - im.astype(int)).mean() for im in images[:2]]
        assert err[0] < 10 and err[0] < err[1] / 2


def test_coco_json_structure(layouts):
    voc, coco, splits = layouts
    for split in dd.SPLITS:
        images, anns = splits[split]
        data = json.loads((coco / 'annotations' / f'instances_{split}.json').read_text())
        assert set(data) >= {'info', 'images', 'annotations', 'categories'}
        assert data['categories'] == [dict(id=i + 1, name=n, supercategory='shape')
                                      for i, n in enumerate(SPEC.class_names)]
        assert [im['id'] for im in data['images']] == list(range(1, len(images) + 1))
        for im in data['images']:
            assert (im['width'], im['height']) == (64, 64)
            assert (coco / split / im['file_name']).is_file()
        assert [a['id'] for a in data['annotations']] == list(range(1, sum(len(a['labels']) for a in anns) + 1))
        by_image = {}
        for a in data['annotations']:
            by_image.setdefault(a['image_id'], []).append(a)
        for pos, ann in enumerate(anns):
            got = by_image.get(pos + 1, [])
            assert [a['category_id'] for a in got] == (ann['labels'] + 1).tolist()
            stem = data['images'][pos]['file_name'][:-4]
            objs = ET.parse(voc / 'VOC2007' / 'Annotations' / f'{stem}.xml').getroot().findall('object')
            for a, obj in zip(got, objs):
                x, y, w, h = a['bbox']
                xmin, ymin, xmax, ymax = (int(obj.find('bndbox').findtext(t)) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
                assert [x, y, w, h] == [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]   # same pixels as VOC
                assert a['area'] == w * h and a['iscrowd'] == 0
                assert a['segmentation'] == [[x, y, x + w, y, x + w, y + h, x, y + h]]


def test_coco_loads_and_scores_itself_with_pycocotools(layouts):
    pytest.importorskip('pycocotools')
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    _, coco, splits = layouts
    gt = COCO(str(coco / 'annotations' / 'instances_train.json'))
    assert gt.getCatIds() == list(range(1, SPEC.num_classes + 1))
    assert len(gt.getAnnIds()) == sum(len(a['labels']) for a in splits['train'][1])
    gt.annToMask(gt.loadAnns(gt.getAnnIds())[0])   # the polygon is a valid segmentation
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.0)
            for a in gt.loadAnns(gt.getAnnIds())]
    ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)   # the ground truth as detections: AP 1


def test_materialise_is_cached(tmp_path):
    spec = DetectionSpec(train_images=3, val_images=2, image_size=32, objects=(1, 2))
    root = materialise_detection(spec, tmp_path)
    assert root == tmp_path / 'detection' / spec.key()
    done = json.loads((root / 'done.json').read_text())
    assert done['classes'] == spec.class_names and done['counts']['train']['images'] == 3
    files = sorted(p for p in root.rglob('*') if p.is_file())
    assert {p.suffix for p in files} == {'.jpg', '.xml', '.txt', '.json'}
    stamps = {p: p.stat().st_mtime_ns for p in files}
    assert materialise_detection(spec, tmp_path) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob('*') if p.is_file()} == stamps
    assert sorted(os.listdir(tmp_path / 'detection')) == [spec.key(), spec.key() + '.lock']   # no temporary folder left
    for jpg in (root / 'voc' / 'VOC2007' / 'JPEGImages' / 'val_000001.jpg',
                root / 'coco' / 'train' / 'train_000002.jpg'):
        assert decode_image(str(jpg), mode=ImageReadMode.RGB).shape == (3, 32, 32)
