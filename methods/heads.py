"""Projection heads shared by methods (MoCo v2 MLP, SimReg MLP, linear projections) and one builder.

``build_head(kind, in_dim, out_dim)`` is the student-head ablation switch of docs/methods.md#ablation-switches
(none / Linear / 2-layer MLP / 4-layer SimReg MLP), so every method builds the same modules (and the
same state-dict keys) for the same choice.
"""
from torch import nn

HEAD_KINDS = ('none', 'linear', 'mlp', 'mlp4')


def mlp_head(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """MoCo v2 / SEED head ``Linear(in, hidden) - ReLU - Linear(hidden, out)`` (MoCo ``moco/builder.py``).

    Index 1 is the ReLU, so the state-dict keys are ``0.*`` and ``2.*`` like the official MoCo v2
    checkpoints' ``fc.0`` / ``fc.2``.
    """
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim))


def simreg_mlp_head(in_dim: int, out_dim: int, hidden_dim: int | None = None) -> nn.Sequential:
    """SimReg's 4-layer prediction MLP (``n_mlp_layers=4``, UCDvision/simreg ``simreg.py``).

    ``d → h (BN, ReLU) → d → h (BN, ReLU) → out`` with ``h = 2d`` by default; no BN/ReLU after the
    2nd Linear, as in the official code. Keys ``0.*, 1.*, 3.*, 4.*, 5.*, 7.*``.
    """
    h = hidden_dim or 2 * in_dim
    return nn.Sequential(nn.Linear(in_dim, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                         nn.Linear(h, in_dim),
                         nn.Linear(in_dim, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                         nn.Linear(h, out_dim))


def build_head(kind: str, in_dim: int, out_dim: int, hidden: int | None = None, *, name: str = 'head',
               match_dims: bool = True) -> nn.Module:
    """A student head mapping [N, in_dim] to [N, out_dim].

    kind: ``'none'`` (``nn.Identity``), ``'linear'`` (``Linear(in, out)``), ``'mlp'`` (MoCo v2 / SEED
    ``Linear(in, hidden)-ReLU-Linear(hidden, out)``, hidden defaults to ``in_dim``) or ``'mlp4'``
    (SimReg, hidden defaults to ``2 * in_dim``). ``'none'`` cannot change the dimension, so it raises
    unless ``in_dim == out_dim``; a caller whose loss works in the student's own dimension (CompRess
    with two banks) passes ``match_dims=False``. ``name`` is the config key quoted in errors.
    """
    if kind not in HEAD_KINDS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, HEAD_KINDS))}, got {kind!r}")
    if kind == 'none':
        if match_dims and in_dim != out_dim:
            raise ValueError(f"{name}='none' (identity) keeps the {in_dim}-d student feature, but the loss "
                             f"compares it with {out_dim}-d teacher vectors; set {name}='linear' or 'mlp' to "
                             f"project {in_dim} -> {out_dim}, or choose a teacher_feature of dimension {in_dim}.")
        return nn.Identity()
    if kind == 'linear':
        return nn.Linear(in_dim, out_dim)
    if kind == 'mlp':
        return mlp_head(in_dim, hidden or in_dim, out_dim)
    return simreg_mlp_head(in_dim, out_dim, hidden)
