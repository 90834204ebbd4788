"""MoCo v3: momentum contrast without a queue (Chen, Xie, He, ICCV 2021; arXiv 2104.02057).

A from-scratch baseline (the student architecture trained without a teacher under the suite's
budget) that can also train teachers, like moco_v2. Recipe of facebookresearch/moco-v3 for ResNets
(``moco/builder.py``, ``main_moco.py``, ``CONFIG.md``):

    q_i = norm(pred(proj(f(x_i))))          [N, dim]   i = 1, 2; x1, x2: two views of each image
    k_i = norm(proj_m(f_m(x_i)))            [N, dim]   momentum encoder (f_m, proj_m) = EMA of (f, proj),
                                                       updated first, keys under no_grad
    L   = 2T·CE(q1·k2ᵀ/T) + 2T·CE(q2·k1ᵀ/T)            in-batch negatives, gathered across processes
    m_t = 1 − (1 − m)·(cos(π·progress) + 1)/2          cosine ramp 0.99 → 1 (``momentum_cos``)

    proj = Linear(d, hidden) - BN - ReLU - Linear(hidden, dim) - BN(affine=False)
    pred = Linear(dim, hidden) - BN - ReLU - Linear(hidden, dim)

Every Linear has ``bias=False``, as in the official ``_build_mlp`` (each is followed by a BN or feeds
the normalised loss). The momentum encoder has no predictor. Each view goes through the encoders in
its own forward pass, so BN statistics are per view as in the official code.

Official hyperparameters (R-50): hidden 4096 (= 2 × 2048), dim 256, T = 1.0, m = 0.99 with the
cosine ramp. Here ``mlp_hidden=None`` means ``2 × feat_dim`` (the official ratio) so small students
get a proportionate head; ``dim`` stays 256.

Initialisation: the official ``main_moco.py`` builds the ResNet with ``zero_init_residual=True`` (the
last BN of every residual branch starts at zero); so does this method by default
(``zero_init_residual=False`` keeps the plain torchvision initialisation of the other methods).

Deviations (docs/methods.md#fair-comparison-rules): the official optimiser is LARS, lr 0.6 × batch/256,
wd 1e-6, 10 warm-up epochs + cosine, batch 4096, SyncBN; the harness trains every method with the
suite's single budget (optimiser, schedule, batch) and plain BN. The official augmentation is
asymmetric (view 1: blur p = 1; view 2: blur p = 0.1 and solarize p = 0.2; ColorJitter(0.4, 0.4,
0.2, 0.1)); that recipe is not implemented in benchmarks/data/views.py, so this method uses MoCo v2's
``mocov2`` recipe for both views (the suite uses one recipe for all methods anyway).
"""
import math

import torch
from torch import nn

from .backbones.base import zero_init_residual as init_zero_residual
from .base import Method
from .common import ema_update, frozen_copy, l2_normalize
from .losses.moco_v3 import moco_v3_loss
from .registry import METHODS


def mocov3_projector(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """``Linear(in, hidden) - BN - ReLU - Linear(hidden, out) - BN(affine=False)``, no Linear biases."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim, bias=False), nn.BatchNorm1d(out_dim, affine=False))


def mocov3_predictor(dim: int, hidden_dim: int) -> nn.Sequential:
    """``Linear(dim, hidden) - BN - ReLU - Linear(hidden, dim)``, no Linear biases, no last BN (ResNet)."""
    return nn.Sequential(nn.Linear(dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, dim, bias=False))


def cosine_momentum(base: float, progress: float) -> float:
    """``1 − (1 − base)·(cos(π·progress) + 1)/2``: ``base`` at the start, 1 at the end of training."""
    return 1.0 - (1.0 - base) * (math.cos(math.pi * progress) + 1.0) / 2.0


@METHODS.register_module(name='moco_v3')
class MoCoV3(Method):
    description = 'MoCo v3 trained from scratch on the student architecture (no teacher, no queue); can train teachers'
    paper = 'Chen, Xie, He, An Empirical Study of Training Self-Supervised Vision Transformers, ICCV 2021'
    needs_teacher = False
    num_views = 2
    augmentation = 'mocov2'

    def __init__(self, student, teacher=None, data_preprocessor=None, dim=256, mlp_hidden=None,
                 temperature=1.0, momentum=0.99, momentum_cos=True, zero_init_residual=True):
        super().__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        if zero_init_residual:
            init_zero_residual(self.student)
        d = self.student.feat_dim
        hidden = mlp_hidden or 2 * d
        # the projector is named ``head`` so teacher caching (getattr(method, 'head')) finds it
        self.head = mocov3_projector(d, hidden, dim)
        self.predictor = mocov3_predictor(dim, hidden)
        self.momentum_student = frozen_copy(self.student)
        self.momentum_head = frozen_copy(self.head)
        self.temperature, self.momentum, self.momentum_cos = temperature, momentum, momentum_cos

    def current_momentum(self) -> float:
        """The EMA momentum at ``self.progress`` (constant ``momentum`` when ``momentum_cos`` is off)."""
        return cosine_momentum(self.momentum, self.progress) if self.momentum_cos else self.momentum

    def embed(self, x):
        """Query: norm(pred(proj(f(x)))), [N, dim]."""
        return l2_normalize(self.predictor(self.head(self.student(x))))

    @torch.no_grad()
    def _key(self, x):
        """Key: norm(proj_m(f_m(x))), [N, dim], no gradient."""
        return l2_normalize(self.momentum_head(self.momentum_student(x)))

    def loss(self, batch):
        x1, x2 = batch['views'][0], batch['views'][1]
        q1, q2 = self.embed(x1), self.embed(x2)
        m = self.current_momentum()
        # as in the official code, the momentum encoder is updated before this step's keys
        ema_update(self.momentum_student, self.student, m)
        ema_update(self.momentum_head, self.head, m)
        k1, k2 = self._key(x1), self._key(x2)
        return dict(loss_moco_v3=moco_v3_loss(q1, q2, k1, k2, self.temperature))

    def export_head(self):
        """The projector (for teachers whose distillation target is the head output)."""
        return self.head
