"""InfoNCE with a queue of negatives, as in MoCo (He et al. CVPR 2020; MoCo v2, Chen et al. 2020).

Official code facebookresearch/moco ``moco/builder.py``: logits = [q·k⁺, q·queue] / T, cross-entropy
with the positive at index 0.
"""
import torch
import torch.nn.functional as F


def moco_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """q, k: [N, D] L2-normalised (k carries no gradient); queue: [K, D]. Returns [N, 1 + K]."""
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.t()
    return torch.cat([pos, neg], dim=1) / temperature


def infonce_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Mean cross-entropy of ``moco_logits`` with target 0 (the positive key). Scalar."""
    logits = moco_logits(q, k.detach(), queue, temperature)
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target)
