"""SlimCLR's online-distillation loss and width weights (Zhao, Zhu, Wang, Yang, "Slimmable Networks for
Contrastive Self-supervised Learning", IJCV 2024, arXiv 2209.15525; docs/methods.md#slimclr).

Official code: ``models/s_moco.py::ssl_loss`` with ``--seed_loss 1`` (``kd_distill_loss_v2``) and
``models/utils.py::loss_weights_generate`` with ``--slim_loss_weighted 5``.
"""
import torch
import torch.nn.functional as F


def slimclr_kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, student_temperature: float = 5.0,
                    teacher_temperature: float = 5.0) -> torch.Tensor:
    """−mean_i Σ_j softmax(ℓt / T_t)_ij · log_softmax(ℓs / T_s)_ij · T_s²; the teacher side has no gradient.

    student_logits, teacher_logits: [N, 1 + K] *raw cosines* ``[<q, k⁺>, <q, queue>]`` of a
    sub-network and of the full-width network, not divided by the MoCo temperature: the official
    code applies T_s = T_t = 5.0 to the raw cosines (``models/s_moco.py::ssl_loss``, ``scripts/mocov2.sh``). Scalar.
    """
    target = F.softmax(teacher_logits.detach() / teacher_temperature, dim=1)
    log_p = F.log_softmax(student_logits / student_temperature, dim=1)
    return -(target * log_p).sum(dim=1).mean() * student_temperature ** 2


def slimclr_width_weights(widths, reweight: bool = True) -> list:
    """Loss weight λ_w per width, in the order of ``widths``.

    ``reweight=True`` (official ``--slim_loss_weighted 5``): the widest network gets
    ``1 + Σ widths − max(widths)`` (2.5 for [1.0, 0.75, 0.5, 0.25]) and every other width 1.0, so the
    full network's gradient is not drowned by the sub-networks sharing its weights. ``False``: all 1.0.
    """
    widths = [float(w) for w in widths]
    if not reweight:
        return [1.0] * len(widths)
    top = max(widths)
    return [1.0 + sum(widths) - top if w == top else 1.0 for w in widths]
