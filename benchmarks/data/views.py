"""View recipes (torchvision transforms v2 on uint8 CHW tensors) and per-sample seeding.

Recipes, scaled from 224 px to the suite's image size ``size``:

* ``compress``: RandomResizedCrop(size, scale=(0.08, 1)) + horizontal flip, no colour jitter or blur
  (UMBCvision/CompRess `train_student.py`, `get_train_loader`).
* ``mocov2``: MoCo v2 "aug+": RandomResizedCrop(scale=(0.2, 1)), ColorJitter(0.4, 0.4, 0.4, 0.1)
  with p = 0.8, grayscale p = 0.2, Gaussian blur p = 0.5, flip (facebookresearch/moco `main_moco.py`,
  ``--aug-plus``). The blur σ range [0.1, 2.0] and kernel (23 px at 224) are scaled by size/224 so small
  images are blurred like ImageNet crops.
* ``mocov2_strong``: MoCo v2 "aug+" with the stronger colour distortion of Shi et al.'s small-model
  recipe (AAAI 2022, WOWNICE/ssl-small ``main_moco_final.py`` with ``--cj 1 --grey-scale 0.5``):
  ColorJitter(0.8, 0.8, 0.8, 0.4) with p = 0.8 and grayscale p = 0.5; crop, blur and flip as ``mocov2``.
* ``center``: the evaluation view: resize the short side to size/0.875 and centre-crop ``size``
  (Resize(256) + CenterCrop(224) at ImageNet scale); images already at ``size`` pass unchanged.

Fair comparison needs every method of a suite to see the same views in the same order, so the
randomness of view ``v`` of sample ``i`` in epoch ``e`` comes from a generator seeded by
``(seed, epoch, index, v)`` (`view_seed`), independent of workers, batch order and method.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from torchvision.transforms import v2

RECIPES = ('compress', 'mocov2', 'mocov2_strong', 'center')
# The numbers of each recipe, shared by the per-sample path (below) and the batched one
# (`benchmarks.data.batch_views`), so the two cannot drift apart.
CROP_SCALE = {'compress': (0.08, 1.0), 'mocov2': (0.2, 1.0), 'mocov2_strong': (0.2, 1.0)}
# the colour recipes: jitter strengths (brightness, contrast, saturation, hue) and grayscale probability
JITTER = {'mocov2': (0.4, 0.4, 0.4, 0.1), 'mocov2_strong': (0.8, 0.8, 0.8, 0.4)}
P_GRAY = {'mocov2': 0.2, 'mocov2_strong': 0.5}
P_JITTER, P_BLUR, P_FLIP = 0.8, 0.5, 0.5


def blur_params(size: int) -> tuple[int, tuple[float, float]]:
    """(kernel, σ range) of MoCo v2's blur (23 px, σ ∈ [0.1, 2] at 224) scaled to ``size``."""
    scale = size / 224
    return max(3, int(round(23 * scale)) | 1), (max(0.1 * scale, 1e-3), 2.0 * scale)


class CenterView(v2.Transform):
    """Resize(size / 0.875) + CenterCrop(size); an image already ``size`` x ``size`` is returned as is."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.resize = v2.Compose([v2.Resize(int(round(size / 0.875)), antialias=True), v2.CenterCrop(size)])

    def forward(self, image):
        if image.shape[-2:] == (self.size, self.size):
            return image
        return self.resize(image)


def build_view_transform(name: str, size: int) -> v2.Transform:
    """The transform of recipe ``name`` producing ``size``x``size`` uint8 views."""
    if name == 'compress':
        return v2.Compose([v2.RandomResizedCrop(size, scale=CROP_SCALE[name], antialias=True),
                           v2.RandomHorizontalFlip(P_FLIP)])
    if name in JITTER:
        kernel, sigma = blur_params(size)
        return v2.Compose([
            v2.RandomResizedCrop(size, scale=CROP_SCALE[name], antialias=True),
            v2.RandomApply([v2.ColorJitter(*JITTER[name])], p=P_JITTER),
            v2.RandomGrayscale(p=P_GRAY[name]),
            v2.RandomApply([v2.GaussianBlur(kernel, sigma=sigma)], p=P_BLUR),
            v2.RandomHorizontalFlip(P_FLIP),
        ])
    if name == 'center':
        return CenterView(size)
    raise KeyError(f'unknown augmentation {name!r}; valid recipes: {", ".join(RECIPES)}')


def view_seed(seed: int, epoch: int, index: int, view: int) -> int:
    """A 63-bit seed for one view of one sample; stable across processes and Python versions."""
    digest = hashlib.blake2b(f'{seed}/{epoch}/{index}/{view}'.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 1


def seeded_views(image: torch.Tensor, transforms, seed: int, epoch: int, index: int, first_view: int = 0) -> list[torch.Tensor]:
    """Apply each transform to ``image`` under its own (seed, epoch, index, view) seed, the views numbered
    from ``first_view`` (a bag partner's views continue the anchor's numbering).

    ``fork_rng`` restores the global RNG afterwards, so the training loop's own randomness (e.g.
    MoCo's shuffle-BN permutation) is unaffected by how many views were drawn.
    """
    views = []
    with torch.random.fork_rng(devices=[]):
        for v, t in enumerate(transforms, start=first_view):
            torch.manual_seed(view_seed(seed, epoch, index, v))
            views.append(t(image))
    return views


def partner_choice(seed: int, epoch: int, index: int, k: int) -> int:
    """Which of the ``k`` bag members is sample ``index``'s partner in ``epoch``: drawn uniformly from its
    own (seed, epoch, index) generator (view number -1, which no view uses), so the partner does not
    depend on the batch, the worker or the method, and a resumed run draws the same one."""
    return int(np.random.default_rng(view_seed(seed, epoch, index, -1)).integers(k))
