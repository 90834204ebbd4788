"""Feature regression baselines of CompRess Table 1: ``reg`` and ``reg_bn``.

The CompRess paper regresses the teacher embedding with the student ("Reg") and adds BatchNorm on
the features before the loss ("Reg-BN"); their exact recipe is not in the official code and is
unverified (research/methods.md §1.6). The documented reference is SimReg (Navaneet, Abbasi
Koohpayegani, Tejankar, Pirsiavash, BMVC 2021, same group, §3.4): student backbone + prediction
head, loss = mean squared distance of the L2-normalised prediction and teacher feature (2 − 2 cos).

Choices (the most faithful reading, each an option):
* teacher feature: pooled backbone (CompRess, SimReg); ``teacher_feature='head'`` for the projection.
* head: ``'linear'`` (D_s → D_t, default: the simplest "student + projection" reading) or ``'mlp'``
  (SimReg's 4-layer MLP d→2d→d→2d→D_t with BN+ReLU after the 1st and 3rd Linear).
* ``reg_bn``: a non-affine BatchNorm1d (batch statistics in training) on the teacher feature and on
  the student prediction, before the L2 normalisation and the MSE.
"""
from torch import nn

from .base import Method
from .common import l2_normalize
from .losses import normalized_mse
from .registry import METHODS


def _head(kind: str, d_s: int, d_t: int) -> nn.Module:
    if kind == 'linear':
        return nn.Linear(d_s, d_t)
    if kind == 'mlp':
        return nn.Sequential(nn.Linear(d_s, 2 * d_s), nn.BatchNorm1d(2 * d_s), nn.ReLU(inplace=True),
                             nn.Linear(2 * d_s, d_s),
                             nn.Linear(d_s, 2 * d_s), nn.BatchNorm1d(2 * d_s), nn.ReLU(inplace=True),
                             nn.Linear(2 * d_s, d_t))
    raise ValueError(f"regression head must be 'linear' or 'mlp', got {kind!r}")


class _Regression(Method):
    paper = ('CompRess baselines (Abbasi Koohpayegani et al., NeurIPS 2020); recipe after SimReg '
             '(Navaneet et al., BMVC 2021)')
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'
    use_bn = False

    def __init__(self, student, teacher=None, data_preprocessor=None, head='linear', teacher_feature='backbone'):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        d_t = self.teacher_dim(teacher_feature)
        self.head = _head(head, self.student.feat_dim, d_t)
        self.teacher_feature = teacher_feature
        if self.use_bn:
            self.teacher_bn = nn.BatchNorm1d(d_t, affine=False)
            self.student_bn = nn.BatchNorm1d(d_t, affine=False)
        self._hparams = dict(head=head, teacher_feature=teacher_feature, feature_bn=self.use_bn)

    def loss(self, batch):
        x = batch['views'][0]
        t = self.teacher_features(x)[self.teacher_feature]
        p = self.head(self.student(x))
        if self.use_bn:
            t, p = self.teacher_bn(t), self.student_bn(p)
        return dict(loss_reg=normalized_mse(l2_normalize(p), l2_normalize(t)))


@METHODS.register_module(name='reg')
class Regression(_Regression):
    description = 'Regress the L2-normalised teacher feature with the student + a projection (MSE)'


@METHODS.register_module(name='reg_bn')
class RegressionBN(_Regression):
    description = 'Regression with (non-affine) BatchNorm on teacher and student features before the MSE'
    use_bn = True
