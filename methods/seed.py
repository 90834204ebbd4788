"""SEED: self-supervised distillation with a queue of teacher embeddings.

Fang, Wang, Wang, Zhang, Yang, Liu, "SEED: Self-supervised Distillation for Visual Representation",
ICLR 2021; behaviour of the official code jacobswan1/SEED (``seed/builder.py``, ``tools/opts.py``):

    t = norm(H_T(f_T(x)))        teacher *including its SSL projection head* (128-d for MoCo v2)
    s = norm(MLP_S(f_S(x)))      student backbone + its own MLP head Linear(d,d)-ReLU-Linear(d,D_t)
    L = CE( softmax([t·t, t·Q] / τ_T),  log_softmax([s·t, s·Q] / τ_S) ),   then Q ← enqueue(t)

τ_S = 0.2 and τ_T = 1e-4 are the code defaults (`tools/opts.py`); the paper's τ_T is unverified
(docs/methods.md#seed). The queue starts as random unit vectors, as in the official code; unlike it, any
batch size works (no ``K % batch == 0`` assert). ``teacher_feature='backbone'`` distils the pooled
backbone feature instead (for teachers without a released projection head, e.g. converted BYOL).
Shapes: s, t: [N, D_t]; queue Q: [K, D_t]; logits [N, 1 + K].

Ablation switches (docs/methods.md#ablation-switches; defaults are the official code's):

* ``student_head``: ``'mlp'`` (official ``Linear(d, mlp_hidden)-ReLU-Linear(mlp_hidden, D_t)``,
  ``mlp_hidden`` = d by default; the third-party 2048 variant is ``mlp_hidden=2048``) | ``'linear'``
  (``Linear(d, D_t)``) | ``'none'`` (the backbone feature itself; needs d == D_t).
* ``teacher_norm``: ``'l2'`` (official) | ``'bn_l2'`` (non-affine BatchNorm, batch statistics, then
  L2) | ``'none'`` (raw teacher features, also what the queue stores; the self column then holds
  ||t||² instead of 1). The student side is always L2-normalised.
* ``student_temperature`` / ``teacher_temperature``, ``teacher_feature`` and ``queue_size`` as before.
"""
from .base import Method
from .common import FeatureNorm, FeatureQueue, check_choice, l2_normalize
from .heads import build_head
from .losses import seed_loss
from .registry import METHODS


@METHODS.register_module(name='seed')
class SEED(Method):
    description = 'SEED: soft cross-entropy to the teacher similarity over a queue of teacher embeddings'
    paper = 'Fang et al., SEED: Self-supervised Distillation for Visual Representation, ICLR 2021'
    needs_teacher = True
    num_views = 1
    augmentation = 'mocov2'
    choices = dict(Method.choices, student_head=('none', 'linear', 'mlp'), teacher_norm=FeatureNorm.KINDS)

    def __init__(self, student, teacher=None, data_preprocessor=None, queue_size=65536, student_temperature=0.2,
                 teacher_temperature=1e-4, teacher_feature='head', mlp_hidden=None, student_head='mlp',
                 teacher_norm='l2'):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        check_choice(type(self).__name__, 'student_head', student_head, self.choices['student_head'])
        check_choice(type(self).__name__, 'teacher_norm', teacher_norm, self.choices['teacher_norm'])
        d_t = self.teacher_dim(teacher_feature)
        d = self.student.feat_dim
        self.head = build_head(student_head, d, d_t, hidden=mlp_hidden, name='student_head')
        self.queue = FeatureQueue(queue_size, d_t, init='normal')
        self.teacher_norm = FeatureNorm(teacher_norm, d_t)
        self.teacher_feature = teacher_feature
        self.student_temperature, self.teacher_temperature = student_temperature, teacher_temperature

    def loss(self, batch):
        x = batch['views'][0]
        t = self.teacher_norm(batch['teacher'][0][self.teacher_feature])
        s = l2_normalize(self.head(self.student(x)))
        loss = seed_loss(s, t, self.queue.bank.clone(), self.student_temperature, self.teacher_temperature)
        self.queue.enqueue(t)
        return dict(loss_seed=loss)
