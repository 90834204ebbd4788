"""SlimCLR-MoCo v2: one slimmable network trained with MoCo v2 at every width, distilled online.

Zhao, Zhu, Wang, Yang, "Slimmable Networks for Contrastive Self-supervised Learning", IJCV 2024
(arXiv 2209.15525); behaviour of the official code mzhaoshuai/SlimCLR (``models/s_moco.py``,
``scripts/mocov2.sh``; docs/methods.md#slimclr):

    k    = norm(head_k(f_k^1.0(x2)))                   only the full-width key encoder makes keys/queue
    q_w  = norm(head^w(f^w(x1)))                        every width w, largest first (weights shared)
    ℓ_w  = [<q_w, k>, <q_w, queue>]                     raw cosines, [N, 1 + K]
    L_1.0 = λ_1.0 · CE(ℓ_1.0 / T, 0)                    T = 0.2
    L_w   = λ_w · [(1 − a)·CE(ℓ_w / T, 0) + a·KD(ℓ_w, stopgrad(ℓ_1.0))]   w < 1, a = 0.5
    KD    = SEED-style soft cross-entropy at T_s = T_t = 5 on the raw cosines, times T_s²
    λ_1.0 = 1 + Σ widths − 1 = 2.5, λ_w = 1;   L = Σ_w L_w

Which network is "the student": the *smallest* width of the slimmable network is the suite's
student architecture. Unless ``full_width`` is given, the full width multiplier is
``student['width'] / min(widths)``: with widths [1, .75, .5, .25] and a ResNet-18 x0.125 student the
slimmable network is x0.5 and its 0.25 sub-network is exactly a ResNet-18 x0.125, so that row is
comparable with every other method's student. ``student_backbones()`` exports every width as a
plain backbone (labels ``w1``, ``w0.75``, ``w0.5``, ``w0.25``), one leaderboard row each.

Head: the official ``slim_fc='mocov2_slim'`` MLP read as ``Linear(d_w, d_w) - ReLU - Linear(d_w, dim)``
with one shared weight sliced by width (hidden = the width's feature dim, output dim fixed).

Slow start: while ``self.progress < slow_start`` (0.5 = 100 of 200 epochs in ``mocov2.sh``) only the
full network is trained, exactly as the official code: the sub-networks are not run (so their
switchable-BN running statistics stay untouched), their loss entries are zero, and λ_1.0 is not
applied yet (the full-width loss has weight 1 until the sub-networks join).

Initialisation (``init='official'``, the default): as the official ``s_resnet.py``
``reset_parameters``: convolutions kaiming-normal (fan_out), BN weight 1 / bias 0, every Linear of the
head N(0, 0.01) with zero bias, and the weight of each bottleneck's ``bn3`` (every width's BN) zero.
The official rule matches ``bn3`` names only, so a slimmable ResNet-18/34 (basic blocks, no ``bn3``)
gets no zero-initialised BN, as it would there. ``init='torchvision'`` keeps the backbone's
torchvision initialisation and PyTorch's default Linear initialisation.

Deviations / not reproduced:
  * ``slim_start_lr``: the official ``main_ssl.py`` resets the LR schedule's base LR when the slow
    start ends (to the ``params.py`` default 1e-4, since ``mocov2.sh`` passes none;
    docs/methods.md#slimclr). The harness owns the LR schedule, one budget for every method, so it is
    not reproduced.
  * Shuffle BN is left out (single process, as ``moco_v2`` by default); the key encoder runs on the
    unshuffled batch.
  * Under DDP, sub-width BN parameters get no gradient during the slow start, so a wrapper needs
    ``find_unused_parameters=True`` while it lasts.
"""
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .backbones.slimmable import SlimBottleneck, SlimmableLinear, SlimmableResNet, set_width_index
from .base import Method
from .common import FeatureQueue, check_choice, ema_update, frozen_copy, l2_normalize
from .losses import moco_logits
from .losses.slimclr import slimclr_kd_loss, slimclr_width_weights
from .registry import METHODS


def width_label(w: float) -> str:
    """Label of a width in loss names and leaderboard rows: 1.0 -> 'w1', 0.25 -> 'w0.25'."""
    return f'w{w:g}'


@torch.no_grad()
def official_init(backbone: nn.Module, head: nn.Module) -> None:
    """The official ``reset_parameters`` on top of the backbone's torchvision initialisation (see module
    doc): Linear N(0, 0.01) with zero bias, bottleneck ``bn3`` weights zero."""
    for m in head.modules():
        if isinstance(m, nn.Linear):
            m.weight.normal_(0.0, 0.01)
            if m.bias is not None:
                m.bias.zero_()
    for m in backbone.modules():
        if isinstance(m, SlimBottleneck):
            for bn in m.bn3.bns:
                bn.weight.zero_()


@METHODS.register_module(name='slimclr')
class SlimCLR(Method):
    description = ('SlimCLR-MoCo v2: one slimmable network trained with MoCo v2 at every width, sub-networks '
                   'distilled online from the full width; each width is a student')
    paper = ('Zhao, Zhu, Wang, Yang, Slimmable Networks for Contrastive Self-supervised Learning, IJCV 2024 '
             '(arXiv 2209.15525)')
    needs_teacher = False
    ddp_find_unused_parameters = True  # sub-width BNs and heads get no gradient during slow start
    num_views = 2
    augmentation = 'mocov2'
    choices = dict(Method.choices, init=('official', 'torchvision'))

    @classmethod
    def check_hyperparameters(cls, values: dict) -> list[str]:
        problems = super().check_hyperparameters(values)
        widths = values.get('widths')
        if isinstance(widths, (list, tuple)) and not (widths and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= 1 for w in widths)):
            problems.append(f'widths={widths!r} must be a non-empty list of fractions in (0, 1] of the full width')
        full = values.get('full_width')
        if full is not None and not (isinstance(full, (int, float)) and not isinstance(full, bool) and full > 0):
            problems.append(f'full_width={full!r} must be None (the student width / the smallest width) or a number > 0')
        slow = values.get('slow_start')
        if not (isinstance(slow, (int, float)) and not isinstance(slow, bool) and 0 <= slow < 1):
            problems.append(f'slow_start={slow!r} must be a fraction of training in [0, 1)')
        return problems

    def __init__(self, student, teacher=None, data_preprocessor=None, widths=(1.0, 0.75, 0.5, 0.25),
                 full_width=None, queue_size=65536, dim=128, temperature=0.2, momentum=0.999,
                 aux_loss_weight=0.5, student_temperature=5.0, teacher_temperature=5.0, reweight=True,
                 slow_start=0.5, init='official'):
        super().__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        check_choice(type(self).__name__, 'init', init, self.choices['init'])
        self.build_slimmable(student, widths, full_width)
        dims = [self.student.feat_dim_at(w) for w in self.widths]
        self.head = nn.Sequential(SlimmableLinear(dims[0], dims), nn.ReLU(inplace=True),
                                  SlimmableLinear(dims[0], dim))
        if init == 'official':
            official_init(self.student, self.head)
        # the key encoder only ever runs at full width (width index 0)
        self.key_student = frozen_copy(self.student)
        self.key_head = frozen_copy(self.head)
        self.queue = FeatureQueue(queue_size, dim, init='normal')
        self.width_weights = slimclr_width_weights(self.widths, reweight)
        self.temperature, self.momentum = temperature, momentum
        self.aux_loss_weight, self.slow_start = aux_loss_weight, slow_start
        self.student_temperature, self.teacher_temperature = student_temperature, teacher_temperature

    def build_slimmable(self, student: dict, widths, full_width) -> None:
        """The slimmable network whose smallest width is the suite's student (see module doc)."""
        widths = sorted({float(w) for w in widths}, reverse=True)
        if full_width is None:
            full_width = float(student.get('width', 1.0)) / widths[-1]
        # replaces (and so unregisters) the plain student that Method.__init__ built
        self.student = SlimmableResNet(student['arch'], width=full_width, widths=widths,
                                       small_input=student.get('small_input', False))
        self.widths = list(self.student.widths)

    @contextmanager
    def _at_width(self, w):
        previous = self.student.active_width
        with self.student.at_width(w):
            set_width_index(self.head, self.student.width_index(w))
            try:
                yield
            finally:  # the head follows the backbone back to the width it had before
                set_width_index(self.head, self.student.width_index(previous))

    def embed(self, x, w=1.0):
        """Query embedding of the width-``w`` sub-network: norm(head^w(f^w(x))), [N, dim]."""
        with self._at_width(w):
            return l2_normalize(self.head(self.student(x)))

    def loss(self, batch):
        x1, x2 = batch['views'][0], batch['views'][1]
        q = self.embed(x1, self.widths[0])
        # MoCo updates the key encoder before computing the keys of this step
        ema_update(self.key_student, self.student, self.momentum)
        ema_update(self.key_head, self.head, self.momentum)
        with torch.no_grad():
            k = l2_normalize(self.key_head(self.key_student(x2)))
        queue = self.queue.bank.clone()
        target = torch.zeros(x1.shape[0], dtype=torch.long, device=x1.device)
        slim = self.progress >= self.slow_start
        full_logits = moco_logits(q, k, queue, 1.0)  # raw cosines: KD temperatures apply to these
        losses = {f'loss_{width_label(self.widths[0])}':
                  (self.width_weights[0] if slim else 1.0) * F.cross_entropy(full_logits / self.temperature, target)}
        teacher_logits = full_logits.detach()
        a = self.aux_loss_weight
        for w, lam in zip(self.widths[1:], self.width_weights[1:]):
            if not slim:
                losses[f'loss_{width_label(w)}'] = full_logits.new_zeros(())
                continue
            logits = moco_logits(self.embed(x1, w), k, queue, 1.0)
            ce = F.cross_entropy(logits / self.temperature, target)
            kd = slimclr_kd_loss(logits, teacher_logits, self.student_temperature, self.teacher_temperature)
            losses[f'loss_{width_label(w)}'] = lam * ((1 - a) * ce + a * kd)
        self.queue.enqueue(k)
        return losses

    def student_backbone(self):
        """The slimmable network itself (active width 1.0); ``student_backbones`` gives plain exports."""
        return self.student

    def student_backbones(self) -> dict:
        """``{'w1': ..., 'w0.75': ..., ...}``: each width as a plain ``ResNetBackbone`` in eval mode."""
        return {width_label(w): self.student.export(w).eval() for w in self.widths}
