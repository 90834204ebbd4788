"""MoCo v3 loss: symmetrised InfoNCE with in-batch negatives (Chen, Xie, He, ICCV 2021).

As in facebookresearch/moco-v3 (`moco/builder.py`; docs/methods.md#moco_v3): the keys of every
process are all-gathered, so each query's negatives are the other images of the *global* batch; the
positive of query i on rank r is gathered key ``r * N + i``. Each direction is scaled by ``2T`` (the
official code's choice, which keeps the gradient scale comparable across temperatures).
"""
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..common import concat_all_gather, is_distributed


def inbatch_logits(q: torch.Tensor, k: torch.Tensor, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(q · gather(k)ᵀ / T [N, world·N], labels rank·N + arange(N) [N])``.

    q: [N, D] L2-normalised queries (carry the gradient); k: [N, D] L2-normalised keys (detached,
    then all-gathered to [world·N, D]; a single process uses k as is and labels ``arange(N)``).
    """
    keys = concat_all_gather(k.detach())
    n = q.shape[0]
    offset = n * dist.get_rank() if is_distributed() else 0
    labels = torch.arange(n, device=q.device) + offset
    return q @ keys.t() / temperature, labels


def contrastive_loss(q: torch.Tensor, k: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``2T · CE(q · gather(k)ᵀ / T, rank·N + arange(N))`` (`inbatch_logits`). Scalar."""
    logits, labels = inbatch_logits(q, k, temperature)
    return F.cross_entropy(logits, labels) * (2 * temperature)


def moco_v3_loss(q1: torch.Tensor, q2: torch.Tensor, k1: torch.Tensor, k2: torch.Tensor,
                 temperature: float = 1.0) -> torch.Tensor:
    """Symmetric loss ``contrastive(q1, k2) + contrastive(q2, k1)``: view 1's query against view 2's
    key and vice versa. All inputs [N, D], L2-normalised; k1, k2 carry no gradient. Scalar."""
    return contrastive_loss(q1, k2, temperature) + contrastive_loss(q2, k1, temperature)
