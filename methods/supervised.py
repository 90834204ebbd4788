"""The supervised reference: the student trained with cross-entropy on the training set's labels.

Not a compression method and not self-supervised: it answers the reviewers' question of how far a
distilled student is from the same network trained with labels under the same budget (the CompRess
reviews ask for it). Everything else is the suite's: the student, the budget, the seeds and the views —
one view of the 'compress' recipe, RandomResizedCrop(scale 0.08–1) + horizontal flip, which is also
torchvision's ImageNet training recipe for ResNets (He et al., CVPR 2016; pytorch/vision
``references/classification/presets.py``). A linear classifier ``Linear(d, num_classes)`` on the pooled
feature is trained with it and dropped afterwards, like the self-supervised methods' heads; the
evaluations see the backbone only.

    logits = W f(x) + b      [N, C];      L = CE(logits, y)     (optionally label-smoothed)

Its rows are marked as using labels and never ranked against the self-supervised rows or used as their
reference (benchmarks/reporting/table.py).
"""
from torch import nn
import torch.nn.functional as F

from .base import Method, PrepareContext
from .registry import METHODS


@METHODS.register_module(name='supervised')
class Supervised(Method):
    description = 'supervised reference: cross-entropy on the training labels (uses labels; shown, not ranked)'
    paper = 'He et al., Deep Residual Learning for Image Recognition, CVPR 2016 (cross-entropy, crop + flip)'
    needs_teacher = False
    uses_labels = True
    num_views = 1
    augmentation = 'compress'
    prepared = ('num_classes',)

    def __init__(self, student, teacher=None, data_preprocessor=None, label_smoothing=0.0, num_classes=None):
        super().__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        if not num_classes or num_classes < 2:
            raise ValueError(f'supervised needs the number of classes of the training set (>= 2), got {num_classes!r}')
        self.classifier = nn.Linear(self.student.feat_dim, num_classes)
        self.label_smoothing = label_smoothing

    @classmethod
    def prepare(cls, ctx: PrepareContext, hparams: dict) -> dict:
        return dict(num_classes=ctx.num_classes)

    @classmethod
    def check_hyperparameters(cls, values: dict) -> list[str]:
        problems = super().check_hyperparameters(values)
        ls = values.get('label_smoothing')
        if isinstance(ls, (int, float)) and not isinstance(ls, bool) and not 0 <= ls < 1:
            problems.append(f'label_smoothing={ls!r} must be a number in [0, 1)')
        return problems

    def loss(self, batch):
        logits = self.classifier(self.student(batch['views'][0]))
        return dict(loss_ce=F.cross_entropy(logits, batch['label'], label_smoothing=self.label_smoothing))
