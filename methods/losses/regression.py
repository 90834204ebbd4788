"""Feature regression (the "Reg"/"Reg-BN" baselines of CompRess; SimReg, Navaneet et al. BMVC 2021).

SimReg's documented recipe (UCDvision/simreg ``simreg.py``): mean over the batch of the squared distance
between L2-normalised student prediction and teacher feature, i.e. ``2 − 2·cos``.
"""
import torch


def normalized_mse(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """mean_i ||s_i − t_i||² for L2-normalised rows s, t [N, D] (= mean of 2 − 2 cos); t has no grad."""
    return (s - t.detach()).pow(2).sum(dim=1).mean()
