"""MoCo v2: momentum contrast with an MLP head (Chen, Fan, Girshick, He, arXiv 2003.04297, 2020).

The no-teacher baseline (the student architecture trained from scratch under the suite's budget)
and the default teacher trainer. Recipe from facebookresearch/moco (``moco/builder.py``, ``main_moco.py``):

    q = norm(head_q(f_q(x1)))          [N, 128]      x1, x2: two aug+ views of the same image
    k = norm(head_k(f_k(x2)))          [N, 128]      key encoder = EMA of the query encoder, m = 0.999
    L = CE([q·k, q·queue] / T, 0)      T = 0.2, queue of K past keys (65,536 on ImageNet)

The loss is not symmetrised (query = view 1 only), as in the official code.

Deviation: MoCo shuffles the key batch across GPUs so batch-norm statistics cannot leak the
positive ("shuffle BN"). One process has no other GPUs; ``shuffle_bn_splits=S > 1`` emulates it by
running the key encoder on the shuffled batch in S independent chunks (each with its own BN
statistics) and un-shuffling the keys. It is off by default (S = 1): on the embedded CPU suite
(ResNet-18 x0.5, 12 epochs, batch 64) S = 4 gave 27.1 % 20-NN against 29.5 % without it.
"""
import torch

from .base import Method
from .common import FeatureQueue, ema_update, frozen_copy, l2_normalize
from .heads import mlp_head
from .losses import infonce_loss
from .registry import METHODS


@METHODS.register_module(name='moco_v2')
class MoCoV2(Method):
    description = 'MoCo v2 trained from scratch on the student architecture (no teacher); also trains teachers'
    paper = 'Chen et al., Improved Baselines with Momentum Contrastive Learning, arXiv 2003.04297 (2020)'
    needs_teacher = False
    num_views = 2
    augmentation = 'mocov2'

    def __init__(self, student, teacher=None, data_preprocessor=None, queue_size=65536, dim=128,
                 temperature=0.2, momentum=0.999, mlp_hidden=None, shuffle_bn_splits=1):
        super().__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        self.build_contrastive(dim, mlp_hidden, queue_size, temperature, momentum, shuffle_bn_splits)

    def build_contrastive(self, dim, mlp_hidden, queue_size, temperature, momentum, shuffle_bn_splits, hidden_mult=1):
        """The MoCo v2 parts on top of the student: MLP head (hidden width ``mlp_hidden``, by default
        ``hidden_mult`` × the feature width), EMA key encoder and head, queue of keys."""
        d = self.student.feat_dim
        self.head = mlp_head(d, mlp_hidden or hidden_mult * d, dim)
        self.key_student = frozen_copy(self.student)
        self.key_head = frozen_copy(self.head)
        self.queue = FeatureQueue(queue_size, dim, init='normal')
        self.temperature, self.momentum, self.shuffle_bn_splits = temperature, momentum, shuffle_bn_splits

    def embed(self, x):
        """Query embedding: norm(head(backbone(x))), [N, dim]."""
        return l2_normalize(self.head(self.student(x)))

    @torch.no_grad()
    def _keys(self, x):
        perm = torch.randperm(x.shape[0], device=x.device)
        chunks = torch.chunk(x[perm], max(1, self.shuffle_bn_splits))
        k = torch.cat([self.key_head(self.key_student(c)) for c in chunks])
        k = k[torch.argsort(perm)]
        return l2_normalize(k)

    def loss(self, batch):
        x1, x2 = batch['views'][0], batch['views'][1]
        q = self.embed(x1)
        k = self.momentum_keys(x2)
        loss = infonce_loss(q, k, self.queue.bank.clone(), self.temperature)
        self.queue.enqueue(k)
        return dict(loss_infonce=loss)

    def momentum_keys(self, x):
        """Keys of ``x`` [N, dim]: MoCo updates the key encoder before computing the keys of this step."""
        ema_update(self.key_student, self.student, self.momentum)
        ema_update(self.key_head, self.head, self.momentum)
        return self._keys(x)

    def export_head(self):
        """The projection head (for teachers whose distillation target is the head output)."""
        return self.head
