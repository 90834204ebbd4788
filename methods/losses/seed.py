"""SEED loss (Fang et al., "SEED: Self-supervised Distillation for Visual Representation", ICLR 2021).

As implemented in jacobswan1/SEED (`seed/builder.py`, `tools/utils.py`; docs/methods.md#seed): one queue of teacher
embeddings; the current teacher embedding is prepended as column 0 (so the teacher's target puts
mass exp(1/τ_T) on "self"), and the student minimises the soft cross-entropy to that target.
"""
import torch
import torch.nn.functional as F


def seed_logits(x: torch.Tensor, t: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """[<x_i, t_i>, <x_i, queue>] / τ: x, t [N, D] (normalised), queue [K, D] -> [N, 1 + K]."""
    return torch.cat([(x * t).sum(dim=1, keepdim=True), x @ queue.t()], dim=1) / temperature


def seed_loss(s: torch.Tensor, t: torch.Tensor, queue: torch.Tensor, student_temperature: float = 0.2,
              teacher_temperature: float = 1e-4) -> torch.Tensor:
    """−mean_i Σ_j softmax(ℓ_T / τ_T)_ij · log_softmax(ℓ_S / τ_S)_ij; the teacher side has no gradient.

    s: [N, D] student embeddings, t: [N, D] teacher embeddings (both L2-normalised), queue: [K, D].
    The official τ_T = 1e-4 makes the target nearly one-hot on self unless a queue entry is a
    near-duplicate of the teacher embedding.
    """
    t = t.detach()
    target = F.softmax(seed_logits(t, t, queue, teacher_temperature), dim=1)
    log_p = F.log_softmax(seed_logits(s, t, queue, student_temperature), dim=1)
    return -(target * log_p).sum(dim=1).mean()
