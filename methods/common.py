"""Pieces every method shares: L2 normalisation, EMA update, gathers and the FIFO feature queue.

They live once, here, so queues and momentum encoders behave identically in every method and are
DDP-ready everywhere (keys are all-gathered before they are enqueued, as MoCo and SEED do).
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


def l2_normalize(x: torch.Tensor, dim: int = -1, eps: float = 1e-12) -> torch.Tensor:
    """``x / ||x||_2`` along ``dim`` (F.normalize); the eps guards all-zero rows."""
    return F.normalize(x, dim=dim, eps=eps)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@torch.no_grad()
def concat_all_gather(x: torch.Tensor) -> torch.Tensor:
    """All-gather ``x`` [N, ...] from every process into [world*N, ...] (rank order); no gradient.

    Single-process runs return ``x`` unchanged, so callers need no special case.
    """
    if not is_distributed():
        return x
    out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(out, x.contiguous())
    return torch.cat(out, dim=0)


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * source`` over parameters only.

    Buffers (BN running statistics) are not averaged: MoCo's key encoder and CompRess's student key
    encoder both leave them to the key encoder's own forward passes
    (UMBCvision/CompRess ``train_student.py`` ``moment_update``; facebookresearch/moco ``moco/builder.py``).
    """
    t_params = [p for p in target.parameters()]
    s_params = [p.detach() for p in source.parameters()]
    torch._foreach_mul_(t_params, momentum)
    torch._foreach_add_(t_params, s_params, alpha=1.0 - momentum)


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy with ``requires_grad=False`` everywhere (for EMA key encoders)."""
    import copy
    clone = copy.deepcopy(module)
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone


class FeatureQueue(nn.Module):
    """FIFO memory bank of feature vectors, ``bank``: [K, D], with a write pointer ``ptr``.

    ``enqueue(x)`` all-gathers ``x`` [N, D] across processes and writes it at rows
    ``(ptr + arange(N)) mod K``, so any batch size works (no ``K % N == 0`` requirement, unlike
    MoCo/SEED; CompRess writes the same way with ``index_copy_``). A batch larger than K keeps its
    last K rows. Everything stays on the device: no ``.item()``, no host sync.

    init: ``'uniform'`` is CompRess's ``rand * 2 * stdv - stdv`` with ``stdv = 1 / sqrt(D / 3)``
    (not unit-norm; CompRess ``nn/compress_loss.py``), ``'normal'`` is MoCo's L2-normalised Gaussian.
    """

    def __init__(self, size: int, dim: int, init: str = 'normal'):
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f'queue size and dim must be positive, got size={size}, dim={dim}')
        if init == 'uniform':
            stdv = 1.0 / math.sqrt(dim / 3)
            bank = torch.rand(size, dim) * 2 * stdv - stdv
        elif init == 'normal':
            bank = l2_normalize(torch.randn(size, dim), dim=1)
        else:
            raise ValueError(f"queue init must be 'uniform' or 'normal', got {init!r}")
        self.register_buffer('bank', bank)
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.bank.shape[0]

    @torch.no_grad()
    def enqueue(self, x: torch.Tensor) -> None:
        x = concat_all_gather(x.detach()).to(self.bank.dtype)
        k = self.size
        if x.shape[0] > k:
            x = x[-k:]
        n = x.shape[0]
        rows = (self.ptr + torch.arange(n, device=self.bank.device)) % k
        self.bank.index_copy_(0, rows, x)
        self.ptr.copy_((self.ptr + n) % k)


def check_choice(owner: str, name: str, value, choices) -> None:
    """Raise a ValueError naming ``owner.name``, the bad value and the valid ones (config typos)."""
    if value not in choices:
        valid = ', '.join(repr(c) for c in choices)
        raise ValueError(f'{owner}: {name} must be one of {valid}, got {value!r}')


class FeatureNorm(nn.Module):
    """Normalisation of a feature batch [N, D] before it enters a loss (an ablation switch,
    docs/methods.md#ablation-switches).

    * ``'l2'``: ``x / ||x||_2`` (every official method's default).
    * ``'bn_l2'``: a non-affine ``BatchNorm1d(dim)`` then L2, as the CompRess "Reg-BN" baseline does. In
      training mode it uses the batch statistics (and updates its running statistics, which eval mode
      uses); under DDP the statistics are per process (no SyncBN), like a plain BatchNorm.
    * ``'none'``: the features unchanged (raw magnitudes reach the loss).

    The BatchNorm lives in ``self.bn`` (state-dict keys ``<name>.bn.running_mean`` …); the other kinds
    have no state, so adding this module changes no checkpoint of an 'l2' method.
    """

    KINDS = ('l2', 'bn_l2', 'none')

    def __init__(self, kind: str, dim: int):
        super().__init__()
        check_choice('FeatureNorm', 'kind', kind, self.KINDS)
        self.kind = kind
        if kind == 'bn_l2':
            self.bn = nn.BatchNorm1d(dim, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == 'none':
            return x
        if self.kind == 'bn_l2':
            x = self.bn(x)
        return l2_normalize(x)

    def extra_repr(self) -> str:
        return f'kind={self.kind!r}'
