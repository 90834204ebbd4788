"""DisCo's distillation term (Gao et al., "DisCo: Remedy Self-supervised Learning on Lightweight Models with
Distilled Contrastive Learning", ECCV 2022; official code Yuting-Gao/DisCo-pytorch ``main.py``).

The student's final embedding (after its projection head) is pulled onto the frozen teacher's final
embedding of the *same* view, for both views:

    L_dis = Σ_v mean_i ‖s_v,i − t_v,i‖²          s_v, t_v: [N, D], L2-normalised

The official code computes ``nn.MSELoss(reduction='sum')`` per GPU (sum over its 32 samples and the D
dimensions) and DDP averages the gradients over the GPUs, so its objective is 32 × the per-sample mean
above; `methods.disco.DisCo` multiplies by ``distill_weight`` (32 by default) to match it at any batch size.
"""
import torch


def disco_distill_loss(students: list, teachers: list) -> torch.Tensor:
    """Sum over views of the batch mean of the squared L2 distance; ``students[v]``, ``teachers[v]``: [N, D]."""
    if len(students) != len(teachers):
        raise ValueError(f'{len(students)} student views but {len(teachers)} teacher views')
    return sum(((s - t.detach()) ** 2).sum(dim=1).mean() for s, t in zip(students, teachers))
