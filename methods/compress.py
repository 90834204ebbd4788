"""CompRess: compressing a self-supervised teacher into a student by matching anchor similarities.

Abbasi Koohpayegani, Tejankar, Pirsiavash, "CompRess: Self-Supervised Learning by Compressing
Representations", NeurIPS 2020; behaviour of the official code UMBCvision/CompRess
(research/methods.md §1.1–1.5):

    t = norm(T(x))   s = norm(S(x))          the same augmented view x for teacher and student
    p_T = softmax(t · Q_Tᵀ / τ)   p_S = softmax(s · Q_Sᵀ / τ)        τ = 0.04 for both
    L = KL(p_T || p_S), averaged over the batch; banks are read *before* the batch is enqueued

* ``compress_2q``: two banks; the student bank is written by an EMA copy of the student (α = 0.999,
  parameters only; its BN uses batch statistics, no shuffle BN, as in the official code).
* ``compress_2q_nomom``: two banks; the student bank is written with the current student features.
* ``compress_1q``: one (teacher) bank; the student gets a trainable linear projection D_s → D_t and
  is compared to the teacher's anchors.

The teacher feature is its pooled backbone output (no MoCo MLP head), as in CompRess. Banks start as
uniform noise (``init='uniform'``, the official initialisation); ``bank_init='normal'`` is the option.
"""
import torch
from torch import nn

from .base import Method
from .common import FeatureQueue, ema_update, frozen_copy, l2_normalize
from .losses import compress_loss
from .registry import METHODS

PAPER = 'Abbasi Koohpayegani et al., CompRess: Self-Supervised Learning by Compressing Representations, NeurIPS 2020'


class _CompRessBase(Method):
    paper = PAPER
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'
    student_bank = 'ema'        # 'ema' | 'current' | 'none' (1q: anchors are the teacher's)

    def __init__(self, student, teacher=None, data_preprocessor=None, bank_size=128000,
                 temperature=0.04, momentum=0.999, teacher_feature='backbone', bank_init='uniform'):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        d_t = self.teacher_dim(teacher_feature)
        d_s = self.student.feat_dim
        self.teacher_feature = teacher_feature
        self.temperature, self.momentum = temperature, momentum
        self.teacher_bank = FeatureQueue(bank_size, d_t, init=bank_init)
        if self.student_bank == 'none':
            self.projection = nn.Linear(d_s, d_t)
        else:
            self.student_bank_q = FeatureQueue(bank_size, d_s, init=bank_init)
        if self.student_bank == 'ema':
            self.key_student = frozen_copy(self.student)
        self._hparams = dict(bank_size=bank_size, temperature=temperature, teacher_feature=teacher_feature,
                             bank_init=bank_init, student_bank=self.student_bank,
                             **({'momentum': momentum} if self.student_bank == 'ema' else {}))

    def loss(self, batch):
        x = batch['views'][0]
        t = l2_normalize(self.teacher_features(x)[self.teacher_feature])
        s = self.student(x)
        if self.student_bank == 'none':
            s = l2_normalize(self.projection(s))
            s_bank = self.teacher_bank.bank.clone()
        else:
            s = l2_normalize(s)
            s_bank = self.student_bank_q.bank.clone()
        loss = compress_loss(s, s_bank, t, self.teacher_bank.bank.clone(), self.temperature)
        self.teacher_bank.enqueue(t)
        if self.student_bank == 'ema':
            with torch.no_grad():
                self.student_bank_q.enqueue(l2_normalize(self.key_student(x)))
            # the official code updates the key encoder at the end of the forward pass
            ema_update(self.key_student, self.student, self.momentum)
        elif self.student_bank == 'current':
            self.student_bank_q.enqueue(s.detach())
        return dict(loss_kl=loss)


@METHODS.register_module(name='compress_2q')
class CompRess2q(_CompRessBase):
    description = 'CompRess, teacher + student banks, student bank written by an EMA key encoder'
    student_bank = 'ema'


@METHODS.register_module(name='compress_2q_nomom')
class CompRess2qNoMomentum(_CompRessBase):
    description = 'CompRess, teacher + student banks, student bank written by the current student'
    student_bank = 'current'


@METHODS.register_module(name='compress_1q')
class CompRess1q(_CompRessBase):
    description = 'CompRess, one teacher bank; student projected to the teacher dimension'
    student_bank = 'none'
