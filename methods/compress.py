"""CompRess: compressing a self-supervised teacher into a student by matching anchor similarities.

Abbasi Koohpayegani, Tejankar, Pirsiavash, "CompRess: Self-Supervised Learning by Compressing
Representations", NeurIPS 2020; behaviour of the official code UMBCvision/CompRess
(``nn/compress_loss.py`` and the three ``train_student*.py`` scripts; docs/methods.md#compress-family):

    t = norm(T(x))   s = norm(S(x))          the same augmented view x for teacher and student
    p_T = softmax(t · Q_Tᵀ / τ)   p_S = softmax(s · Q_Sᵀ / τ)        τ = 0.04 for both
    L = KL(p_T || p_S), averaged over the batch; banks are read *before* the batch is enqueued
    t: [N, D_t], s: [N, D_s], Q_T: [K, D_t], Q_S: [K, D_s], p_T, p_S: [N, K]

* ``compress_2q``: two banks; the student bank is written by an EMA copy of the student (α = 0.999,
  parameters only; its BN uses batch statistics, no shuffle BN, as in the official code).
* ``compress_2q_nomom``: two banks; the student bank is written with the current student features.
* ``compress_1q``: one (teacher) bank; the student gets a trainable linear projection D_s → D_t and
  is compared to the teacher's anchors.

The teacher feature is its pooled backbone output (no MoCo MLP head), as in CompRess. Banks start as
uniform noise (``init='uniform'``, the official initialisation); ``bank_init='normal'`` is the option.

Ablation switches (docs/methods.md#ablation-switches; every default is the official code's, so the three
registered names differ only in the ``__init__`` defaults of ``student_bank`` and ``student_head``):

* ``student_bank``: ``'ema'`` (2q) | ``'current'`` (2q without momentum) | ``'none'`` (1q: one shared
  teacher bank, the student projected to D_t).
* ``student_head``: ``'none'`` | ``'linear'`` | ``'mlp'`` (``Linear(D_s, mlp_hidden)-ReLU-Linear(·, D_t)``,
  hidden D_s by default). Defaults: ``'none'`` for 2q (the loss sees the backbone feature) and
  ``'linear'`` for 1q (its projection). With two banks a head maps D_s → D_t, the student bank
  becomes [K, D_t] and the EMA key encoder covers backbone *and* head (keys = norm(h_k(f_k(x)))).
  With one bank ``'none'`` is allowed only when D_s == D_t.
* ``teacher_norm``: ``'l2'`` (official) | ``'bn_l2'`` (non-affine BatchNorm, batch statistics, then
  L2) | ``'none'`` (raw teacher features, also what the teacher bank stores). The student side is
  always L2-normalised.
* ``teacher_temperature``: τ_T of the teacher softmax; None = ``temperature`` (the official single τ).
* ``teacher_feature`` ('backbone' | 'head') and ``bank_size`` as before.
The module names of the default configurations are unchanged (``projection`` is the 1q projection
and, for 2q, the optional head; an Identity has no state-dict keys).
"""
import torch

from .base import Method
from .common import FeatureNorm, FeatureQueue, check_choice, ema_update, frozen_copy, l2_normalize
from .heads import build_head
from .losses import compress_loss
from .registry import METHODS

PAPER = 'Abbasi Koohpayegani et al., CompRess: Self-Supervised Learning by Compressing Representations, NeurIPS 2020'


class _CompRessBase(Method):
    paper = PAPER
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'
    choices = dict(Method.choices, student_bank=('ema', 'current', 'none'), student_head=('none', 'linear', 'mlp'),
                   teacher_norm=FeatureNorm.KINDS, bank_init=('uniform', 'normal'))

    def __init__(self, student, teacher=None, data_preprocessor=None, bank_size=128000,
                 temperature=0.04, momentum=0.999, teacher_feature='backbone', bank_init='uniform',
                 student_bank='ema', student_head='none', teacher_norm='l2', teacher_temperature=None,
                 mlp_hidden=None):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        owner = type(self).__name__
        self.student_bank, self.student_head = student_bank, student_head
        for name, value in (('student_bank', student_bank), ('student_head', student_head), ('teacher_norm', teacher_norm)):
            check_choice(owner, name, value, self.choices[name])
        d_t = self.teacher_dim(teacher_feature)
        d_s = self.student.feat_dim
        self.teacher_feature = teacher_feature
        self.temperature, self.momentum = temperature, momentum
        self.teacher_temperature = temperature if teacher_temperature is None else teacher_temperature
        self.teacher_norm = FeatureNorm(teacher_norm, d_t)
        # construction order (teacher bank, projection, student bank) keeps the seeded initialisation
        # of the default configurations identical to the code before these switches existed
        self.teacher_bank = FeatureQueue(bank_size, d_t, init=bank_init)
        one_bank = self.student_bank == 'none'
        # with one bank the student must live in the teacher's space; with two it may keep its own
        self.projection = build_head(self.student_head, d_s, d_t, hidden=mlp_hidden, name='student_head',
                                     match_dims=one_bank)
        if not one_bank:
            d_bank = d_s if self.student_head == 'none' else d_t
            self.student_bank_q = FeatureQueue(bank_size, d_bank, init=bank_init)
        if self.student_bank == 'ema':
            self.key_student = frozen_copy(self.student)
            self.key_projection = frozen_copy(self.projection)

    def loss(self, batch):
        x = batch['views'][0]
        t = self.teacher_norm(batch['teacher'][0][self.teacher_feature])
        s = l2_normalize(self.projection(self.student(x)))
        s_bank = self.teacher_bank if self.student_bank == 'none' else self.student_bank_q
        loss = compress_loss(s, s_bank.bank.clone(), t, self.teacher_bank.bank.clone(), self.temperature,
                             self.teacher_temperature)
        self.teacher_bank.enqueue(t)
        if self.student_bank == 'ema':
            with torch.no_grad():
                self.student_bank_q.enqueue(l2_normalize(self.key_projection(self.key_student(x))))
        elif self.student_bank == 'current':
            self.student_bank_q.enqueue(s.detach())
        return dict(loss_kl=loss)

    def after_step(self):
        """The EMA key encoder follows the student *after* the optimiser step, as the official
        ``train_student.py`` calls ``moment_update(student, student_key, alpha)`` after
        ``optimizer.step()``: the keys of step t+1 come from m·k_t + (1 − m)·θ_{t+1}."""
        if self.student_bank == 'ema':
            ema_update(self.key_student, self.student, self.momentum)
            if self.student_head != 'none':  # an Identity has no parameters to average
                ema_update(self.key_projection, self.projection, self.momentum)


@METHODS.register_module(name='compress_2q')
class CompRess2q(_CompRessBase):
    description = 'CompRess, teacher + student banks, student bank written by an EMA key encoder'


@METHODS.register_module(name='compress_2q_nomom')
class CompRess2qNoMomentum(_CompRessBase):
    description = 'CompRess, teacher + student banks, student bank written by the current student'

    def __init__(self, student, teacher=None, data_preprocessor=None, student_bank='current', **kwargs):
        super().__init__(student, teacher, data_preprocessor, student_bank=student_bank, **kwargs)


@METHODS.register_module(name='compress_1q')
class CompRess1q(_CompRessBase):
    description = 'CompRess, one teacher bank; student projected to the teacher dimension'

    def __init__(self, student, teacher=None, data_preprocessor=None, student_bank='none', student_head='linear',
                 **kwargs):
        super().__init__(student, teacher, data_preprocessor, student_bank=student_bank, student_head=student_head,
                         **kwargs)
