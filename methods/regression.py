"""Feature regression baselines of CompRess Table 1: ``reg`` and ``reg_bn``.

The CompRess paper regresses the teacher embedding with the student ("Reg") and adds BatchNorm on
the features before the loss ("Reg-BN"); their exact recipe is not in the official code and is
unverified (docs/methods.md#reg). The documented reference is SimReg (Navaneet, Abbasi
Koohpayegani, Tejankar, Pirsiavash, BMVC 2021, same group; UCDvision/simreg ``simreg.py``): student
backbone + prediction head, loss = mean squared distance of the L2-normalised prediction and teacher
feature (2 − 2 cos).

    p = norm_S(h(S(x)))  [N, D_t]      t = norm_T(T(x))  [N, D_t]      L = mean_i ||p_i − t_i||²

Choices (the most faithful reading, each an option):
* teacher feature: pooled backbone (CompRess, SimReg); ``teacher_feature='head'`` for the projection.
* head: ``'linear'`` (D_s → D_t, default: the simplest "student + projection" reading) or ``'mlp'``
  (SimReg's 4-layer MLP d→2d→d→2d→D_t with BN+ReLU after the 1st and 3rd Linear).
* ``reg_bn``: a non-affine BatchNorm1d (batch statistics in training) on the teacher feature and on
  the student prediction, before the L2 normalisation and the MSE.

Ablation switches (docs/methods.md#ablation-switches):
* ``head``: ``'linear'`` | ``'mlp'`` (SimReg 4-layer) | ``'none'`` (the backbone feature; needs D_s == D_t).
* ``teacher_norm`` / ``student_norm``: ``'l2'`` | ``'bn_l2'`` | ``'none'`` (methods.common.FeatureNorm),
  each applied to its side before the squared distance; defaults ``reg``: 'l2'/'l2', ``reg_bn``:
  'bn_l2'/'bn_l2', i.e. exactly the two baselines. With both 'none' the loss is the plain MSE of raw
  features (SimReg's ``--mse_nonorm``).
* ``teacher_feature`` ('backbone' | 'head') as before.
The BatchNorms are ``teacher_norm.bn`` / ``student_norm.bn``.
"""
from .base import Method
from .common import FeatureNorm, check_choice
from .heads import build_head
from .losses import normalized_mse
from .registry import METHODS

class _Regression(Method):
    paper = ('CompRess baselines (Abbasi Koohpayegani et al., NeurIPS 2020); recipe after SimReg '
             '(Navaneet et al., BMVC 2021)')
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'

    choices = dict(Method.choices, head=('none', 'linear', 'mlp'), teacher_norm=FeatureNorm.KINDS,
                   student_norm=FeatureNorm.KINDS)

    def __init__(self, student, teacher=None, data_preprocessor=None, head='linear', teacher_feature='backbone',
                 teacher_norm='l2', student_norm='l2'):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        owner = type(self).__name__
        for name, value in (('head', head), ('teacher_norm', teacher_norm), ('student_norm', student_norm)):
            check_choice(owner, name, value, self.choices[name])
        d_t = self.teacher_dim(teacher_feature)
        self.head = build_head('mlp4' if head == 'mlp' else head, self.student.feat_dim, d_t, name='head')
        self.teacher_feature = teacher_feature
        self.teacher_norm = FeatureNorm(teacher_norm, d_t)
        self.student_norm = FeatureNorm(student_norm, d_t)

    def loss(self, batch):
        x = batch['views'][0]
        t = self.teacher_norm(batch['teacher'][0][self.teacher_feature])
        p = self.student_norm(self.head(self.student(x)))
        return dict(loss_reg=normalized_mse(p, t))


@METHODS.register_module(name='reg')
class Regression(_Regression):
    description = 'Regress the L2-normalised teacher feature with the student + a projection (MSE)'


@METHODS.register_module(name='reg_bn')
class RegressionBN(_Regression):
    description = 'Regression with (non-affine) BatchNorm on teacher and student features before the MSE'

    def __init__(self, student, teacher=None, data_preprocessor=None, teacher_norm='bn_l2', student_norm='bn_l2',
                 **kwargs):
        super().__init__(student, teacher, data_preprocessor, teacher_norm=teacher_norm, student_norm=student_norm,
                         **kwargs)
