"""Projection heads shared by methods (MoCo v2 MLP, linear projections)."""
from torch import nn


def mlp_head(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """MoCo v2 / SEED head ``Linear(in, hidden) - ReLU - Linear(hidden, out)`` (research/methods.md §5.2).

    Index 1 is the ReLU, so the state-dict keys are ``0.*`` and ``2.*`` like the official MoCo v2
    checkpoints' ``fc.0`` / ``fc.2``.
    """
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim))
