"""CRD: Contrastive Representation Distillation, adapted to self-supervised compression.

Tian, Krishnan, Isola, "Contrastive Representation Distillation", ICLR 2020; behaviour of the
official code HobbitLong/RepDistiller (``crd/criterion.py``, ``crd/memory.py``), used as a baseline by
CompRess (docs/methods.md#crd: "CRD loss with the teacher embedding instead of labels"):

    v_S = norm(W_S f_S(x))     v_T = norm(W_T f_T(x))        two trainable Linear(d, 128) embeds
    M_S, M_T: [n_data, 128]    per-sample memories indexed by dataset index (InstDisc-style)
    idx_i = [i, j_1 … j_K]     the positive (the sample itself) and K uniform random negatives
    L = NCE(v_S vs M_T[idx]) + NCE(v_T vs M_S[idx])                   (methods/losses/crd.py)
    M_S[i] <- norm(m M_S[i] + (1 − m) v_S)  and the same for M_T, m = 0.5, after the loss

Adaptation to self-supervision (the CompRess paper's reading, details unverified there): the
official CIFAR loader's default ``mode='exact'`` draws negatives only from *other classes*, which
needs labels; here negatives are drawn uniformly over all training samples (the official
behaviour when no ``contrast_idx`` is supplied), so a negative can occasionally be the positive.
There is no cross-entropy term (no labels), so the loss is the CRD term times ``loss_weight``
(β = 0.8 in the official ``-b 0.8`` runs).

Defaults from the official code: embed dim 128, K = 16,384 negatives, T = 0.07, memory momentum
0.5, memories initialised uniform in ±1/sqrt(dim/3), the teacher's penultimate (pooled backbone)
feature, ``Z`` estimated once from the first batch and then frozen (stored as a buffer so a
resumed run keeps it). The memory size is the training-set size, supplied by `prepare`.

Ablation switches: ``teacher_feature`` ('backbone' | 'head'), ``num_negatives``, ``temperature``,
``memory_momentum``, ``embed_dim``.

Distributed (the official code is single-GPU): each process draws its own negatives; the memories are
updated with the all-gathered indices and embeddings of the global batch, so every process holds the
same memories, and ``Z`` is the mean of the processes' first-batch estimates (the global batch's).
"""
import math

import torch
from torch import nn

from .base import Method
from .common import concat_all_gather, is_distributed, l2_normalize
from .losses import crd_nce_loss, crd_normaliser, crd_scores
from .registry import METHODS


def _uniform_memory(n: int, dim: int) -> torch.Tensor:
    stdv = 1.0 / math.sqrt(dim / 3)
    return torch.rand(n, dim) * 2 * stdv - stdv


@METHODS.register_module(name='crd')
class CRD(Method):
    description = 'CRD: NCE between student and teacher embeddings with per-sample memories, uniform negatives'
    paper = 'Tian, Krishnan, Isola, Contrastive Representation Distillation, ICLR 2020'
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'
    prepared = ('num_samples',)

    @classmethod
    def prepare(cls, ctx, hparams):
        k = hparams.get('num_negatives', 16384)
        if k >= ctx.num_samples:
            raise ValueError(f'crd: num_negatives={k} must be smaller than the {ctx.num_samples} training '
                             f'samples; set method_cfgs.crd.num_negatives below it.')
        return dict(num_samples=ctx.num_samples)

    def __init__(self, student, teacher=None, data_preprocessor=None, num_samples=None, embed_dim=128,
                 num_negatives=16384, temperature=0.07, memory_momentum=0.5, teacher_feature='backbone',
                 loss_weight=0.8):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        if not num_samples:
            raise ValueError('crd needs num_samples (the training-set size); the harness passes it via CRD.prepare')
        d_t = self.teacher_dim(teacher_feature)
        self.embed_s = nn.Linear(self.student.feat_dim, embed_dim)
        self.embed_t = nn.Linear(d_t, embed_dim)
        self.register_buffer('memory_s', _uniform_memory(num_samples, embed_dim))
        self.register_buffer('memory_t', _uniform_memory(num_samples, embed_dim))
        # -1 marks "not estimated yet": the first training batch sets each Z (official behaviour)
        self.register_buffer('z_s', torch.tensor(-1.0))
        self.register_buffer('z_t', torch.tensor(-1.0))
        self.num_samples, self.num_negatives = num_samples, num_negatives
        self.temperature, self.memory_momentum = temperature, memory_momentum
        self.teacher_feature, self.loss_weight = teacher_feature, loss_weight
        self._z_synced = {}

    def _normalised(self, scores, name: str):
        z = getattr(self, name)
        # torch.where keeps the "first batch sets Z" rule on the device (no .item() sync)
        estimate = crd_normaliser(scores, self.num_samples)
        if is_distributed() and self.training and not self._z_synced.get(name):
            # only the first step's estimate is ever used: average it over the global batch once
            torch.distributed.all_reduce(estimate)
            estimate = estimate / torch.distributed.get_world_size()
            self._z_synced[name] = True
        z.copy_(torch.where(z < 0, estimate, z))
        return scores / z

    @torch.no_grad()
    def _update_memory(self, memory, index, v):
        index, v = concat_all_gather(index), concat_all_gather(v.detach())
        memory.index_copy_(0, index, l2_normalize(memory[index] * self.memory_momentum
                                                   + v.to(memory.dtype) * (1 - self.memory_momentum)))

    def loss(self, batch):
        x, index = batch['views'][0], batch['index']
        v_t = l2_normalize(self.embed_t(batch['teacher'][0][self.teacher_feature]))
        v_s = l2_normalize(self.embed_s(self.student(x)))
        idx = torch.randint(0, self.num_samples, (x.shape[0], self.num_negatives + 1), device=x.device)
        idx[:, 0] = index
        # the student anchor is scored against the teacher memory and vice versa (official ContrastMemory)
        p_s = self._normalised(crd_scores(v_s, self.memory_t, idx, self.temperature), 'z_s')
        p_t = self._normalised(crd_scores(v_t, self.memory_s, idx, self.temperature), 'z_t')
        loss = crd_nce_loss(p_s, self.num_samples) + crd_nce_loss(p_t, self.num_samples)
        if self.training:
            self._update_memory(self.memory_s, index, v_s)
            self._update_memory(self.memory_t, index, v_t)
        return dict(loss_crd=self.loss_weight * loss)
