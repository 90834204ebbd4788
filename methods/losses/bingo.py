"""BINGO's bag-aggregation loss (Xu, Fang, Zhang, Xie, Wang, Dai, Xiong, Tian, "Bag of Instances
Aggregation Boosts Self-supervised Distillation", ICLR 2022; official code ``main_moco.py``,
``moco/builder.py``).

Every student embedding is contrasted against a positive *teacher* embedding and a queue ``Q`` of
teacher anchor embeddings:

    ℓ(s, t) = CE([s·t, s·Q] / τ, 0)                                     per sample, [N]

and, with ``sa, sp, sm`` the student's embeddings of the anchor, of its bag partner and of their
CutMix, ``ta, tp`` the teacher's of the anchor and the partner (other views of the same images),

    L = (1/3) · mean_i [ w0·ℓ(sa,ta) + w1·ℓ(sa,tp) + w1·ℓ(sp,ta) + w0·ℓ(sp,tp)
                         + λ·ℓ(sm,ta) + (1 − λ)·ℓ(sm,tp) ]

(w0, w1) = (1, 0) during the warm-up and (0.5, 0.5) after it; λ is the area fraction of the CutMix
image that still shows the anchor. This is the official code's objective; the paper writes only
``ℓ(sa,ta) + ℓ(sp,ta)`` (the intra- and inter-sample terms, `bingo_paper_loss`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def queue_ce(s: torch.Tensor, t: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-sample ``CE([s·t, s·Q] / τ, 0)``: s, t [N, D] L2-normalised (t carries no gradient),
    queue [K, D]. Returns [N]."""
    pos = (s * t.detach()).sum(dim=1, keepdim=True)
    logits = torch.cat([pos, s @ queue.t()], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(s.shape[0], dtype=torch.long, device=s.device), reduction='none')


def bingo_loss(sa, sp, sm, ta, tp, queue, temperature: float, lam: float, weights=(0.5, 0.5)) -> torch.Tensor:
    """The official objective above. sa, sp, sm, ta, tp: [N, D] L2-normalised; queue [K, D];
    ``lam`` the CutMix anchor fraction; ``weights`` (w0, w1). ``sm=None`` (CutMix off) drops the two CutMix
    terms and averages the other four over the two student views (``/ 2``). Scalar."""
    w0, w1 = weights
    ce = lambda s, t: queue_ce(s, t, queue, temperature)  # noqa: E731
    total = w0 * ce(sa, ta) + w1 * ce(sa, tp) + w1 * ce(sp, ta) + w0 * ce(sp, tp)
    if sm is None:
        return total.mean() / 2
    return (total + lam * ce(sm, ta) + (1 - lam) * ce(sm, tp)).mean() / 3


def bingo_paper_loss(sa, sp, ta, queue, temperature: float) -> torch.Tensor:
    """The paper's ``L_intra + L_inter = mean_i [ℓ(sa,ta) + ℓ(sp,ta)]`` (no CutMix, no neighbour positive)."""
    return (queue_ce(sa, ta, queue, temperature) + queue_ce(sp, ta, queue, temperature)).mean()


def cutmix_box(lam: float, size: int, cx: int, cy: int) -> tuple[int, int, int, int]:
    """The official ``rand_bbox``: a square of side ``int(size · sqrt(1 − lam))`` centred at the pixel
    ``(cx, cy)`` (drawn uniformly in ``[0, size)``), clipped to the image. Returns ``(top, left, bottom,
    right)`` (exclusive ends)."""
    cut = int(size * (1.0 - lam) ** 0.5)
    return (max(cy - cut // 2, 0), max(cx - cut // 2, 0), min(cy + cut // 2, size), min(cx + cut // 2, size))


def cutmix(anchor: torch.Tensor, partner: torch.Tensor, box) -> tuple[torch.Tensor, float]:
    """``anchor`` [N, C, H, W] with ``box`` (the same for the whole batch, as the official code) taken from
    ``partner``; returns the mixed batch and the fraction of its area that still shows the anchor."""
    top, left, bottom, right = box
    mixed = anchor.clone()
    mixed[:, :, top:bottom, left:right] = partner[:, :, top:bottom, left:right]
    h, w = anchor.shape[-2:]
    return mixed, 1.0 - (bottom - top) * (right - left) / (h * w)
