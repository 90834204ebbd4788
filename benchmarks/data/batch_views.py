"""The view recipes of `benchmarks.data.views`, applied to a whole batch at once.

Per-sample torchvision transforms cost ~0.2 ms (``compress``) to ~0.8 ms (``mocov2``) per view on
one core, which on the 2-core machine is as much as the training step itself. When every image of a
dataset has the same size (the embedded default holds uint8 ``[N, 3, S, S]`` in memory) the views are
made here instead, batched: each sample's random parameters still come from its own generator seeded
by ``(seed, epoch, index, view)`` (so views do not depend on batch composition or on the method),
then crop-resize and flip (two batched matrix products with per-sample interpolation matrices),
colour jitter, grayscale and blur run as a few tensor ops over the batch.

Same distributions as the per-sample recipes, with two documented differences:
* ColorJitter applies brightness, contrast, saturation, hue in this fixed order (torchvision draws a
  random order per sample);
* crop-resize is torchvision's bilinear ``resized_crop`` without antialiasing (pixel centres aligned,
  ``align_corners=False``, as the per-sample path, the CompRess and MoCo training scripts sample), not
  an antialiased resize: they differ only when a crop is shrunk, which RandomResizedCrop on small
  images rarely does. Bilinear interpolation is separable, so it is done as ``R_y @ image @ R_xᵀ`` with
  sparse-in-effect [size, H] and [size, W] weight matrices per sample: batched matmuls use every core
  (``roi_align`` ran on one, benchmarks/perf); a horizontal flip is the reversed rows of ``R_x``, free.
  Equal to ``torchvision.transforms.v2.functional.resized_crop(antialias=False)`` within one grey level
  (tests/benchmarks/data/test_batch_views.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.data.views import CROP_SCALE, JITTER, P_BLUR, P_FLIP, P_GRAY, P_JITTER, RECIPES, blur_params, view_seed

_GRAY = (0.2989, 0.587, 0.114)


def _rrc_box(rng, h, w, scale, ratio=(3 / 4, 4 / 3)):
    """torchvision RandomResizedCrop.get_params with a numpy generator: (top, left, height, width)."""
    area = h * w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    in_ratio = w / h
    if in_ratio < ratio[0]:
        cw, ch = w, int(round(w / ratio[0]))
    elif in_ratio > ratio[1]:
        ch, cw = h, int(round(h * ratio[1]))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


class BatchViews:
    """One view recipe (``compress``, ``mocov2``, ``mocov2_strong`` or ``center``) over uint8 batches [B, 3, H, W]."""

    def __init__(self, recipe: str, size: int):
        if recipe not in RECIPES:
            raise KeyError(f'unknown augmentation {recipe!r}; valid recipes: {", ".join(RECIPES)}')
        self.recipe, self.size = recipe, size
        self.blur_kernel, self.blur_sigma = blur_params(size)

    def center_box(self, h: int, w: int) -> tuple:
        """(left, top, right, bottom) in input pixels of the ``center`` view: the square that
        `benchmarks.data.views.CenterView` keeps (short side resized to round(size / 0.875), centre crop
        ``size``), mapped back to the input, so one bilinear resize of it gives the same view (without the
        antialiasing of the per-sample path). The whole image when it already is ``size`` x ``size``."""
        if (h, w) == (self.size, self.size):
            return 0, 0, w, h
        short = int(round(self.size / 0.875))
        nh, nw = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
        top, left = int(round((nh - self.size) / 2.0)), int(round((nw - self.size) / 2.0))
        sy, sx = h / nh, w / nw
        return left * sx, top * sy, (left + self.size) * sx, (top + self.size) * sy

    def sample_params(self, seed: int, epoch: int, indices, view: int, h, w) -> dict:
        """Per-sample parameters, each sample from its own (seed, epoch, index, view) generator; ``h``, ``w``:
        the images' size, one for the batch or one per sample (images of a folder differ)."""
        n = len(indices)
        hs, ws = np.broadcast_to(np.asarray(h), (n,)), np.broadcast_to(np.asarray(w), (n,))
        boxes = np.zeros((n, 4), dtype=np.float32)
        flip = np.zeros(n, dtype=bool)
        jitter = np.zeros((n, 4), dtype=np.float32)    # brightness, contrast, saturation factors; hue shift
        jitter[:, :3] = 1.0
        gray = np.zeros(n, dtype=bool)
        sigma = np.zeros(n, dtype=np.float32)           # 0 = no blur
        for k, idx in enumerate(indices):
            h, w = int(hs[k]), int(ws[k])
            rng = np.random.default_rng(view_seed(seed, epoch, int(idx), view))
            if self.recipe == 'center':
                boxes[k] = self.center_box(h, w)
                continue
            top, left, ch, cw = _rrc_box(rng, h, w, CROP_SCALE[self.recipe])
            boxes[k] = (left, top, left + cw, top + ch)
            if self.recipe in JITTER:
                strength = JITTER[self.recipe]
                if rng.random() < P_JITTER:
                    jitter[k] = [rng.uniform(1 - j, 1 + j) for j in strength[:3]] + [rng.uniform(-strength[3], strength[3])]
                gray[k] = rng.random() < P_GRAY[self.recipe]
                if rng.random() < P_BLUR:
                    sigma[k] = rng.uniform(*self.blur_sigma)
            flip[k] = rng.random() < P_FLIP
        return dict(boxes=torch.from_numpy(boxes), flip=torch.from_numpy(flip), jitter=torch.from_numpy(jitter),
                    gray=torch.from_numpy(gray), sigma=torch.from_numpy(sigma))

    def apply(self, images: torch.Tensor, p: dict, cropped: bool = False) -> torch.Tensor:
        """uint8 [B,3,H,W] + params -> uint8 [B,3,size,size]. ``cropped=True``: ``images`` are already the
        crops of ``p['boxes']`` resized to ``size`` (made where the file was decoded, `benchmarks.data.crops`):
        only flip, colour and blur are left."""
        b, _, h, w = images.shape
        if self.recipe == 'center' and (h, w) == (self.size, self.size):
            return images.clone()
        if cropped and self.recipe not in JITTER:  # crop done, no colour: a flip of the bytes is all that is left
            return torch.where(p['flip'].to(images.device)[:, None, None, None], images.flip(-1), images)
        x = images.float() / 255.0
        flip = p['flip'].to(x.device)
        if cropped:  # the crop is the whole image: the resize is the identity, only the flip is left
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        else:
            boxes = p['boxes'].to(x.device)
            ry = _interpolation_matrix(boxes[:, 1], boxes[:, 3], h, self.size)          # [B, S, H]
            rx = _interpolation_matrix(boxes[:, 0], boxes[:, 2], w, self.size)          # [B, S, W]
            # flip = output columns in reverse order; jitter and grayscale are per pixel and the blur kernel
            # is symmetric, so flipping first is the same as flipping last
            rx = torch.where(flip[:, None, None], rx.flip(1), rx)
            x = torch.matmul(torch.matmul(ry[:, None], x), rx.transpose(1, 2)[:, None])  # [B, 3, S, S]
        if self.recipe in JITTER:
            x = _color_jitter(x, p['jitter'].to(x.device))
            g = p['gray'].to(x.device)[:, None, None, None]
            x = torch.where(g, _grayscale(x).expand_as(x), x)
            x = _blur(x, p['sigma'].to(x.device), self.blur_kernel)
        return (x.clamp_(0, 1) * 255.0).round_().to(torch.uint8)


def _interpolation_matrix(start: torch.Tensor, end: torch.Tensor, length: int, size: int) -> torch.Tensor:
    """[B, size, length] bilinear weights resizing the pixels [start, end) of an axis of ``length`` pixels
    to ``size`` pixels, as torchvision ``resized_crop`` (crop, then ``interpolate(mode='bilinear',
    align_corners=False)``) does: output pixel i samples the crop at ``(i + 0.5)·step − 0.5`` (pixel
    centres aligned), clamped to the crop's first and last pixel, so nothing outside the crop leaks in
    and an identity crop at the same size returns the input exactly."""
    b = start.shape[0]
    step = (end - start) / size
    first = start.floor()
    last = (end.ceil() - 1).clamp(max=length - 1)
    coord = start[:, None] + (torch.arange(size, dtype=start.dtype, device=start.device) + 0.5) * step[:, None] - 0.5
    coord = torch.maximum(coord, first[:, None])
    low = coord.floor()
    at_last = low >= last[:, None]
    low = torch.where(at_last, last[:, None].expand_as(low), low)
    frac = torch.where(at_last, torch.zeros_like(coord), coord - low)
    low = low.long()
    high = torch.where(at_last, low, low + 1)
    m = torch.zeros(b, size, length, dtype=start.dtype, device=start.device)
    m.scatter_add_(2, low[..., None], (1 - frac)[..., None])
    m.scatter_add_(2, high[..., None], frac[..., None])
    return m


def _grayscale(x):
    r, g, b = x.unbind(1)
    return (_GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b).unsqueeze(1)


def _rgb_to_hsv(x):
    r, g, b = x.unbind(1)
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp_min(1e-12), torch.zeros_like(maxc))
    dc = delta.clamp_min(1e-12)
    rc, gc, bc = (maxc - r) / dc, (maxc - g) / dc, (maxc - b) / dc
    hue = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = torch.where(delta > 0, (hue / 6.0) % 1.0, torch.zeros_like(hue))
    return hue, s, maxc


def _hsv_to_rgb(h, s, v):
    # closed form: c_n = v - v s clamp(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6, n = 5, 3, 1 for r, g, b
    n = torch.tensor([5.0, 3.0, 1.0], device=h.device, dtype=h.dtype).view(1, 3, 1, 1)
    k = (n + h.unsqueeze(1) * 6.0) % 6.0
    return v.unsqueeze(1) - (v * s).unsqueeze(1) * torch.minimum(k, 4.0 - k).clamp(0, 1)


def _color_jitter(x, j):
    """Brightness, contrast, saturation (factors), hue (shift), per sample; factor 1 / shift 0 = no-op."""
    bri, con, sat, hue = (j[:, k].view(-1, 1, 1, 1) for k in range(4))
    x = (x * bri).clamp(0, 1)
    mean = _grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    x = (con * x + (1 - con) * mean).clamp(0, 1)
    x = (sat * x + (1 - sat) * _grayscale(x)).clamp(0, 1)
    if bool((hue != 0).any()):
        h, s, v = _rgb_to_hsv(x)
        x = _hsv_to_rgb((h + hue.view(-1, 1, 1)) % 1.0, s, v)
    return x


def _blur(x, sigma, k):
    """Separable Gaussian blur with a per-sample σ (σ = 0 leaves the sample unchanged)."""
    if not bool((sigma > 0).any()):
        return x
    b, c, h, w = x.shape
    r = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    safe = sigma.clamp_min(1e-6)[:, None]
    kern = torch.exp(-0.5 * (r[None] / safe) ** 2)
    kern = kern / kern.sum(1, keepdim=True)
    delta = (r == 0).to(x.dtype)[None].expand(b, k)
    kern = torch.where((sigma > 0)[:, None], kern, delta)
    kern = kern.repeat_interleave(c, dim=0)                      # [B*C, k]
    y = x.reshape(1, b * c, h, w)
    y = F.pad(y, (k // 2, k // 2, 0, 0), mode='reflect')
    y = F.conv2d(y, kern[:, None, None, :], groups=b * c)
    y = F.pad(y, (0, 0, k // 2, k // 2), mode='reflect')
    y = F.conv2d(y, kern[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


def concat_params(rows) -> dict:
    """One view's parameters for a batch from its samples' (or sub-batches') `BatchViews.sample_params`."""
    return {k: torch.cat([r[k] for r in rows]) for k in rows[0]}


class PendingViews:
    """The views of one batch, not made yet: for each view its source images (uint8 ``[B,3,H,W]``: the
    batch's images, its bag partners', or crops already made where the files were decoded), its
    `BatchViews` recipe and per-sample parameters (drawn on the CPU from the (seed, epoch, index, view)
    generators, as always). `make` runs the pixel work where it is called -- on the training device when
    the data preprocessor calls it (``budget.views_on='device'``), so the loader only moves bytes and
    parameters. ``cropped``: the sources are crops (`BatchViews.apply`)."""

    def __init__(self, views, params, sources, cropped: bool = False):
        self.views, self.params, self.sources, self.cropped = list(views), list(params), list(sources), cropped

    def make(self, device=None) -> list:
        """The uint8 views ``[B,3,S,S]`` on ``device`` (default: where the sources are)."""
        moved = {}
        for src in self.sources:  # a tensor several views read is moved once
            if id(src) not in moved:
                moved[id(src)] = src if device is None else src.to(device, non_blocking=True)
        return [bv.apply(moved[id(src)], p, self.cropped) for bv, p, src in zip(self.views, self.params, self.sources)]

    def pin_memory(self):
        """Page-locked sources (DataLoader ``pin_memory``): faster, asynchronous uploads."""
        pinned = {}
        self.sources = [pinned.setdefault(id(src), src.pin_memory()) for src in self.sources]
        return self


def made_views(views, device=None) -> list:
    """A collated batch's views as uint8 tensors on ``device``: `PendingViews` are made there (a loader built with
    ``collate_fn(views_on_device=True)``, or DALI batches from loader workers), made views are moved."""
    if isinstance(views, PendingViews):
        return views.make(device)
    return [v if device is None else v.to(device) for v in views]


class BatchViewCollate:
    """collate_fn for fixed-size in-memory datasets: ``[((epoch, index), image, label)]`` ->
    ``(index [B], [views uint8 [B,3,S,S] ...], label [B])``, one view per recipe. With ``partner_views = P``
    each sample also carries its bag partner's image (a fourth element) and the last P views are made
    from the partners, seeded by the anchor's (seed, epoch, index, view). ``on_device=True``: the views
    are returned as `PendingViews` instead, made later where the data preprocessor runs (the training
    device); same parameters, same pixels up to float rounding of the device."""

    def __init__(self, recipes, size: int, seed: int, partner_views: int = 0, on_device: bool = False):
        self.views = [BatchViews(r, size) for r in recipes]
        self.seed, self.partner_views, self.on_device = seed, partner_views, on_device

    def __call__(self, samples):
        keys = [s[0] for s in samples]
        epochs = {e for e, _ in keys}
        indices = [i for _, i in keys]
        epoch = epochs.pop() if len(epochs) == 1 else None
        if epoch is None:
            raise ValueError('a batch mixes samples of different epochs')
        images = torch.stack([s[1] for s in samples])
        partners = torch.stack([s[3] for s in samples]) if self.partner_views else None
        own = len(self.views) - self.partner_views
        h, w = images.shape[-2:]
        params = [bv.sample_params(self.seed, epoch, indices, v, h, w) for v, bv in enumerate(self.views)]
        views = PendingViews(self.views, params, [images] * own + [partners] * (len(self.views) - own))
        labels = torch.tensor([s[2] for s in samples], dtype=torch.long)
        return torch.tensor(indices, dtype=torch.long), views if self.on_device else views.make(), labels


class CropViewCollate:
    """collate_fn for image files decoded as crops (`benchmarks.data.crops`): samples
    ``((epoch, index), [crop uint8 [3,S,S] per view], label, [parameters of each view])`` ->
    ``(index [B], views, label [B])``. Each view's parameters were drawn once where the file was decoded
    (its (seed, epoch, index, view) generator, `BatchViews.sample_params`) and its box already cut and
    resized; here the rest (flip, colour jitter, grayscale, blur) runs batched -- in the collate function,
    or as `PendingViews` on the training device (``on_device``)."""

    def __init__(self, recipes, size: int, on_device: bool = False):
        self.views = [BatchViews(r, size) for r in recipes]
        self.on_device = on_device

    def __call__(self, samples):
        keys = [s[0] for s in samples]
        epochs = {e for e, _ in keys}
        if len(epochs) != 1:
            raise ValueError('a batch mixes samples of different epochs')
        indices = [i for _, i in keys]
        sources = [torch.stack([s[1][v] for s in samples]) for v in range(len(self.views))]
        params = [concat_params([s[3][v] for s in samples]) for v in range(len(self.views))]
        views = PendingViews(self.views, params, sources, cropped=True)
        labels = torch.tensor([s[2] for s in samples], dtype=torch.long)
        return torch.tensor(indices, dtype=torch.long), views if self.on_device else views.make(), labels
