"""SlimCLR-MoCo v3: one slimmable network trained with MoCo v3 at every width, distilled online.

Zhao, Zhu, Wang, Yang, "Slimmable Networks for Contrastive Self-supervised Learning", IJCV 2024
(arXiv 2209.15525); the MoCo v3 variant of the official code mzhaoshuai/SlimCLR (``models/s_mocov3.py``,
``models/backbones/s_resnet.py`` with ``slim_fc='mocov3_slim'``, ``scripts/mocov3.sh``):

    for each view v ∈ {1, 2} and width w (largest first, weights shared):
        q_v^w = norm(Pred^w(Proj^w(f^w(x_v))))              [N, 256]
    k_v   = norm(Proj_m(f_m(x_v)))                          [N, 256]  momentum encoder, full width only
    z_v^w = q_v^w · gather(k_v')ᵀ / T                        [N, world·N]  v' = the other view, T = 1
    CE_v^w = 2T · CE(z_v^w, rank·N + arange(N))
    KD_v^w = SEED-style soft cross-entropy of z_v^w against the detached z_v^1 at T_s = T_t = 1, × T_s²
    L_v = λ_1 · CE_v^1 + Σ_{w<1} λ_w · [(1 − a)·CE_v^w + a·KD_v^w],   L = L_1 + L_2
    λ = (1 + Σ widths − 1, 1, 1, …) = (2.5, 1, 1, 1),  a = 0.5
    m_t = 1 − (1 − 0.99)·(cos(π·progress) + 1)/2           cosine ramp to 1 (fractional epochs)

Heads (inside the slimmable encoder, sliced by width like the convolutions; every Linear bias-free):
projector ``Linear(d_w, h_w) - BN_w - ReLU - Linear(h_w, 256) - BN_w(affine=False)`` and, on the online
branch only, predictor ``Linear(256, h_w) - BN_w - ReLU - Linear(h_w, 256)``, with ``BN_w`` one private
BatchNorm per width (switchable BN) and ``h_w = mlp_hidden_mult · d_w`` (official 4096 = 2 × 2048 for
R-50). The momentum encoder is a copy of the full-width encoder and projector.

Slow start: while ``progress < slow_start`` (0.5 = 150 of 300 epochs) only the full width is trained
and λ_1 is not applied, as in the official code; sub-width losses are zero. Students, widths and the
smallest-width-is-the-suite's-student rule are SlimCLR-MoCo v2's (`methods.slimclr`).

Deviations (docs/methods.md#slimclr_mocov3): the optimiser (official LARS, lr 1.2 at batch 1024, wd
1e-6), the LR jump at the end of slow start (``slim_start_lr`` 3.2), SyncBN and AMP are the suite's
budget; the BYOL-style asymmetric augmentation is not implemented, both views use ``mocov2`` as the
other MoCo v3 method here. Initialisation follows the official ``reset_parameters`` for the encoder and
projector (``init='official'``: Linear N(0, 0.01), bottleneck bn3 zero); the predictor keeps PyTorch's
default Linear initialisation (**unverified** whether the official predictor is re-initialised).
"""
import torch
from torch import nn

from .backbones.slimmable import SlimmableLinear, SwitchableBatchNorm1d, set_width_index
from .base import Method
from .common import check_choice, ema_update, frozen_copy, l2_normalize
from .losses import inbatch_logits
from .losses.slimclr import slimclr_kd_loss, slimclr_width_weights
from .moco_v3 import cosine_momentum
from .registry import METHODS
from .slimclr import SlimCLR, official_init, width_label


def slim_projector(dims, hidden, out_dim: int) -> nn.Sequential:
    """Per-width ``Linear(d_w, h_w) - BN - ReLU - Linear(h_w, out) - BN(affine=False)``, bias-free."""
    n = len(dims)
    return nn.Sequential(SlimmableLinear(max(dims), hidden, bias=False), SwitchableBatchNorm1d(hidden),
                         nn.ReLU(inplace=True), SlimmableLinear(max(hidden), out_dim, bias=False),
                         SwitchableBatchNorm1d([out_dim] * n, affine=False))


def slim_predictor(dim: int, hidden) -> nn.Sequential:
    """Per-width ``Linear(dim, h_w) - BN - ReLU - Linear(h_w, dim)``, bias-free, no last BN."""
    return nn.Sequential(SlimmableLinear(dim, hidden, bias=False), SwitchableBatchNorm1d(hidden),
                         nn.ReLU(inplace=True), SlimmableLinear(max(hidden), dim, bias=False))


@METHODS.register_module(name='slimclr_mocov3')
class SlimCLRMoCoV3(SlimCLR):
    description = ('SlimCLR-MoCo v3: one slimmable network trained with MoCo v3 (in-batch, symmetric) at every '
                   'width, sub-networks distilled online from the full width; each width is a student')
    needs_teacher = False
    ddp_find_unused_parameters = True
    num_views = 2
    augmentation = 'mocov2'

    def __init__(self, student, teacher=None, data_preprocessor=None, widths=(1.0, 0.75, 0.5, 0.25),
                 full_width=None, dim=256, mlp_hidden_mult=2, temperature=1.0, momentum=0.99, momentum_cos=True,
                 aux_loss_weight=0.5, student_temperature=1.0, teacher_temperature=1.0, reweight=True,
                 slow_start=0.5, init='official'):
        # Method.__init__, then the slimmable encoder of SlimCLR with MoCo v3's heads instead of its MLP
        super(SlimCLR, self).__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        check_choice(type(self).__name__, 'init', init, self.choices['init'])
        self.build_slimmable(student, widths, full_width)
        dims = [self.student.feat_dim_at(w) for w in self.widths]
        hidden = [mlp_hidden_mult * d for d in dims]
        self.head = slim_projector(dims, hidden, dim)        # `head`: SlimCLR's _at_width switches it too
        self.predictor = slim_predictor(dim, hidden)
        if init == 'official':
            official_init(self.student, self.head)
        self.key_student = frozen_copy(self.student)
        self.key_head = frozen_copy(self.head)
        self.width_weights = slimclr_width_weights(self.widths, reweight)
        self.temperature, self.momentum, self.momentum_cos = temperature, momentum, momentum_cos
        self.aux_loss_weight, self.slow_start = aux_loss_weight, slow_start
        self.student_temperature, self.teacher_temperature = student_temperature, teacher_temperature

    def embed(self, x, w=1.0):
        """Online query of the width-``w`` sub-network: norm(pred^w(proj^w(f^w(x)))), [N, dim]."""
        with self._at_width(w):
            set_width_index(self.predictor, self.student.width_index(w))
            try:
                return l2_normalize(self.predictor(self.head(self.student(x))))
            finally:
                set_width_index(self.predictor, 0)

    @torch.no_grad()
    def _keys(self, x):
        return l2_normalize(self.key_head(self.key_student(x)))

    def loss(self, batch):
        x = batch['views'][:2]
        m = cosine_momentum(self.momentum, self.progress) if self.momentum_cos else self.momentum
        ema_update(self.key_student, self.student, m)   # before the keys, as the official forward
        ema_update(self.key_head, self.head, m)
        keys = [self._keys(v) for v in x]
        slim = self.progress >= self.slow_start
        t, a = self.temperature, self.aux_loss_weight
        losses = {}
        full = [None, None]   # the full width's logits per view: the sub-widths' distillation targets
        for i, (w, lam) in enumerate(zip(self.widths, self.width_weights)):
            if i > 0 and not slim:
                losses[f'loss_{width_label(w)}'] = keys[0].new_zeros(())
                continue
            total = 0.0
            for v in (0, 1):
                logits, labels = inbatch_logits(self.embed(x[v], w), keys[1 - v], t)
                ce = nn.functional.cross_entropy(logits, labels) * (2 * t)
                if i == 0:
                    full[v] = logits.detach()
                    total = total + ce
                else:
                    kd = slimclr_kd_loss(logits, full[v], self.student_temperature, self.teacher_temperature)
                    total = total + (1 - a) * ce + a * kd
            losses[f'loss_{width_label(w)}'] = (lam if (slim or i > 0) else 1.0) * total
        return losses
