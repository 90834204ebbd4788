"""CRD's NCE loss (Tian, Krishnan, Isola, "Contrastive Representation Distillation", ICLR 2020).

As implemented in HobbitLong/RepDistiller (`crd/criterion.py`, `crd/memory.py`; docs/methods.md#crd):
each anchor is scored against one positive and K negatives drawn from a memory bank of the *other*
network's embeddings,

    P(j) = exp(<bank_j, v> / T) / Z,         Z fixed once from the first batch (see `crd_normaliser`)

and the loss is the binary NCE of paper Eq. 18 with noise distribution P_n = 1 / n_data:

    L = −(1/B) Σ_i [ log(P_pos / (P_pos + K·P_n + ε)) + Σ_k log(K·P_n / (P_neg,k + K·P_n + ε)) ]
"""
import torch

EPS = 1e-7  # the official ContrastLoss's eps


def crd_scores(v: torch.Tensor, bank: torch.Tensor, idx: torch.Tensor, temperature: float) -> torch.Tensor:
    """Unnormalised scores ``exp(<bank[idx[i, j]], v_i> / T)``.

    v: [B, D] anchors (L2-normalised); bank: [n_data, D]; idx: [B, 1 + K] bank rows, column 0 the
    positive. Returns [B, 1 + K]. The bank rows are constants (no gradient flows into the memory).

    Two equal computations, chosen by cost: the official one gathers the K + 1 bank rows of every
    anchor ([B, 1 + K, D], memory-bound: 134 MB per call at B = 64, K = 4,096, D = 128) and takes
    their dot products; when the bank has at most ``2 (K + 1)`` rows it is cheaper to score the anchors
    against the whole bank with one matmul ([B, n_data]) and gather the scores (the embedded default,
    n_data = 5,000 < 2 × 4,097). Same values up to float summation order.
    """
    if bank.shape[0] <= 2 * idx.shape[1]:
        # a copy: the caller updates the memory in place before backward, which needs these rows
        dots = (v @ bank.detach().t().clone()).gather(1, idx)    # [B, 1 + K]
    else:
        anchors = bank[idx].detach()                      # [B, 1 + K, D]
        dots = torch.bmm(anchors, v.unsqueeze(2)).squeeze(2)
    return torch.exp(dots / temperature)


def crd_normaliser(scores: torch.Tensor, n_data: int) -> torch.Tensor:
    """The official ``Z = mean(scores) · n_data``: a Monte-Carlo estimate of the partition function
    from the first batch, then frozen by the caller. Scalar, no gradient."""
    return scores.detach().mean() * n_data


def crd_nce_loss(p: torch.Tensor, n_data: int) -> torch.Tensor:
    """NCE loss on normalised scores ``p`` [B, 1 + K] (column 0 the positive); P_n = 1 / n_data. Scalar."""
    k = p.shape[1] - 1
    m_pn = k / n_data
    log_d1 = torch.log(p[:, 0] / (p[:, 0] + m_pn + EPS))
    log_d0 = torch.log(m_pn / (p[:, 1:] + m_pn + EPS))
    return -(log_d1.sum() + log_d0.sum()) / p.shape[0]
