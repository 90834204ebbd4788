"""CompRess loss (Abbasi Koohpayegani, Tejankar, Pirsiavash, NeurIPS 2020), as the official code computes it.

For each image the teacher and the student each turn their similarities to a memory bank of anchor
points into a softmax distribution; the student minimises KL(p_teacher || p_student).
Reference: `nn/compress_loss.py` of UMBCvision/CompRess (docs/methods.md#compress-family): the same
temperature for both sides, similarities against the bank *before* the current batch is enqueued
(so there is no self/positive column), ``F.kl_div(log_softmax(s), softmax(t), 'batchmean')``.
"""
import torch
import torch.nn.functional as F


def bank_logits(x: torch.Tensor, bank: torch.Tensor, temperature: float) -> torch.Tensor:
    """Similarities of queries to anchors divided by the temperature.

    x: [N, D] (L2-normalised by the caller); bank: [K, D]. Returns [N, K].
    """
    return x @ bank.t() / temperature


def kl_teacher_student(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(softmax(teacher) || softmax(student)), rows are distributions.

    teacher_logits, student_logits: [N, K]. Returns a scalar. The teacher side carries no gradient
    (it is detached here so callers cannot forget).
    """
    return F.kl_div(F.log_softmax(student_logits, dim=1), F.softmax(teacher_logits.detach(), dim=1),
                    reduction='batchmean')


def compress_loss(s: torch.Tensor, s_bank: torch.Tensor, t: torch.Tensor, t_bank: torch.Tensor,
                  temperature: float = 0.04, teacher_temperature: float | None = None) -> torch.Tensor:
    """CompRess KL over anchor similarities.

    s: [N, D_s] student embeddings (normalised); s_bank: [K, D_s] student anchors (2q) or the
    teacher anchors when the student is projected to D_t (1q); t: [N, D_t]; t_bank: [K, D_t].
    ``teacher_temperature`` defaults to ``temperature`` (the official code uses one τ = 0.04).
    """
    tau_t = temperature if teacher_temperature is None else teacher_temperature
    return kl_teacher_student(bank_logits(t, t_bank, tau_t), bank_logits(s, s_bank, temperature))
