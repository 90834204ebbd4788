"""Decode an image file straight into the crops its views need (``data.decode='crop'``).

The per-sample path decodes every file at full size and runs torchvision's transforms on it. Here,
where the file is decoded (a loader worker), each view's crop box comes first -- drawn from the
view's own (seed, epoch, index, view) generator by `BatchViews.sample_params`, exactly the box the
batched recipes draw -- and then:

* a JPEG is decoded at the smallest DCT scale (1/1, 1/2, 1/4, 1/8; Pillow's ``Image.draft``, libjpeg's
  scaled IDCT) that still leaves every box at least ``size`` pixels on its shorter side, so no view is
  upsampled from a coarser decode than it needs. Other formats decode at full size;
* each box is cut and resized to ``size`` x ``size`` in one Pillow ``resize(box=...)`` (bilinear with
  antialiasing, as torchvision's antialiased ``resized_crop``).

The fixed-size uint8 crops then go through the rest of the recipe batched (flip, colour jitter,
grayscale, blur: `benchmarks.data.batch_views.CropViewCollate`), in the collate function or on the
training device. The view *distributions* and parameters are the per-sample path's (same generators,
same boxes); the pixels differ only by the decode scale (DCT scaling instead of a full decode then an
antialiased resize) and Pillow's resize filter, and by the fixed order of the colour operations
(`benchmarks.data.batch_views`).
"""
from __future__ import annotations

import numpy as np
import torch

SCALES = (8, 4, 2, 1)   # JPEG DCT scalings libjpeg offers: 1/8 .. 1/1


def reduction(boxes, size: int) -> int:
    """The largest DCT reduction r (8, 4, 2 or 1) at which every box ``(left, top, right, bottom)`` keeps
    a shorter side of at least ``size`` pixels."""
    shortest = min(min(b[2] - b[0], b[3] - b[1]) for b in boxes)
    return next((r for r in SCALES if shortest / r >= size), 1)


def decode_crops(path, boxes_of, size: int) -> tuple[list[torch.Tensor], tuple[int, int]]:
    """``(crops, (h, w))``: the crops of image ``path`` at the boxes ``boxes_of(h, w)`` returns [(left, top,
    right, bottom) in full-size pixels] for its full size ``(h, w)``, each resized to uint8
    ``[3, size, size]``; the file opened and decoded once, at the reduced JPEG scale `reduction` allows.
    Raises what Pillow raises for an unreadable file."""
    from PIL import Image
    with Image.open(path) as im:
        w, h = im.size
        boxes = boxes_of(h, w)
        r = reduction(boxes, size)
        if r > 1 and im.format == 'JPEG':
            im.draft('RGB', (-(-w // r), -(-h // r)))  # ceil: libjpeg picks the scale >= the requested size
        rgb = im.convert('RGB')                          # decodes (truncated files raise here)
    sx, sy = rgb.size[0] / w, rgb.size[1] / h
    out = []
    for left, top, right, bottom in boxes:
        crop = rgb.resize((size, size), Image.BILINEAR, box=(left * sx, top * sy, right * sx, bottom * sy))
        out.append(torch.from_numpy(np.array(crop)).permute(2, 0, 1))  # HWC memory; stacked into a batch later
    return out, (h, w)
