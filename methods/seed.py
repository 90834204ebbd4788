"""SEED: self-supervised distillation with a queue of teacher embeddings.

Fang, Wang, Wang, Zhang, Yang, Liu, "SEED: Self-supervised Distillation for Visual Representation",
ICLR 2021; behaviour of the official code jacobswan1/SEED (research/methods.md §2):

    t = norm(H_T(f_T(x)))        teacher *including its SSL projection head* (128-d for MoCo v2)
    s = norm(MLP_S(f_S(x)))      student backbone + its own MLP head Linear(d,d)-ReLU-Linear(d,D_t)
    L = CE( softmax([t·t, t·Q] / τ_T),  log_softmax([s·t, s·Q] / τ_S) ),   then Q ← enqueue(t)

τ_S = 0.2 and τ_T = 1e-4 are the code defaults (`tools/opts.py`); the paper's τ_T is unverified
(research §2.1). The queue starts as random unit vectors, as in the official code; unlike it, any
batch size works (no ``K % batch == 0`` assert). ``teacher_feature='backbone'`` distils the pooled
backbone feature instead (for teachers without a released projection head, e.g. converted BYOL).
"""
from .base import Method
from .common import FeatureQueue, l2_normalize
from .heads import mlp_head
from .losses import seed_loss
from .registry import METHODS


@METHODS.register_module(name='seed')
class SEED(Method):
    description = 'SEED: soft cross-entropy to the teacher similarity over a queue of teacher embeddings'
    paper = 'Fang et al., SEED: Self-supervised Distillation for Visual Representation, ICLR 2021'
    needs_teacher = True
    num_views = 1
    augmentation = 'mocov2'

    def __init__(self, student, teacher=None, data_preprocessor=None, queue_size=65536, student_temperature=0.2,
                 teacher_temperature=1e-4, teacher_feature='head', mlp_hidden=None):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        d_t = self.teacher_dim(teacher_feature)
        d = self.student.feat_dim
        self.head = mlp_head(d, mlp_hidden or d, d_t)
        self.queue = FeatureQueue(queue_size, d_t, init='normal')
        self.teacher_feature = teacher_feature
        self.student_temperature, self.teacher_temperature = student_temperature, teacher_temperature
        self._hparams = dict(queue_size=queue_size, student_temperature=student_temperature,
                             teacher_temperature=teacher_temperature, teacher_feature=teacher_feature,
                             mlp_hidden=mlp_hidden or d)

    def loss(self, batch):
        x = batch['views'][0]
        t = l2_normalize(self.teacher_features(x)[self.teacher_feature])
        s = l2_normalize(self.head(self.student(x)))
        loss = seed_loss(s, t, self.queue.bank.clone(), self.student_temperature, self.teacher_temperature)
        self.queue.enqueue(t)
        return dict(loss_seed=loss)
