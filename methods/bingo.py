"""BINGO: bag of instances aggregation for self-supervised distillation.

Xu, Fang, Zhang, Xie, Wang, Dai, Xiong, Tian, "Bag of Instances Aggregation Boosts Self-supervised
Distillation", ICLR 2022; behaviour of the official code haohang96/bingo (``compute_knn.py``, ``clustering.py``,
``moco/folder.py``, ``main_moco.py``, ``moco/builder.py``).

1. Bags (`prepare`, offline, cached like cc's k-means): the frozen teacher's L2-normalised pooled
   backbone features of every training image's centre view; each image's bag is its ``bag_size`` = 5
   nearest other images (exact cosine search, faiss).
2. Every step, sample ``a`` comes with a partner ``p`` drawn uniformly from its bag, four views
   (``mocov2`` recipe): ``xa1``, ``xa2`` of the anchor and ``xp1``, ``xp2`` of the partner, and a CutMix
   ``xm`` of ``xa1`` with a box of ``xp1`` (one box per batch, λ ~ Beta(2, 2)):

       sa, sp, sm = norm(H(f(xa1))), norm(H(f(xp1))), norm(H(f(xm)))   [N, D]  student + MLP head
       ta, tp     = norm(H_T(f_T(xa2))), norm(H_T(f_T(xp2)))           [N, D]  frozen teacher + its head
       L = (1/3)[w0 ℓ(sa,ta) + w1 ℓ(sa,tp) + w1 ℓ(sp,ta) + w0 ℓ(sp,tp) + λ ℓ(sm,ta) + (1−λ) ℓ(sm,tp)]
       ℓ(s, t) = CE([s·t, s·Q] / τ, 0);   then Q ← enqueue(ta)         (methods/losses/bingo.py)

   There is no student momentum encoder: every positive and every queue entry is a teacher embedding.
   (w0, w1) = (1, 0) for the warm-up, then (0.5, 0.5).

Defaults from the official code: τ 0.2, queue 65,536 of 128-d teacher anchor embeddings, student head
``Linear(d, 2048) - ReLU - Linear(2048, D)`` (D = the teacher's embedding width), bag size 5, CutMix on.
The official warm-up is epochs 0-10 of 200 ("epoch > 10"); here it is the same fraction of training,
``warmup_fraction`` = 11 / 200, so it scales with the suite's budget (at 10 epochs: the first 43 of 780
steps).

Where this deviates from the official code: the partner is drawn per (seed, epoch, sample) instead of
``np.random.choice`` at every load (reproducible and resumable; the same distribution); CutMix's λ and
box come from torch's seeded generator; the teacher runs in eval mode (running BN statistics; the
official teacher stays in train mode with shuffle-BN, which the harness's shared teacher outputs cannot
do); the paper's equation (``ℓ(sa,ta) + ℓ(sp,ta)``, no CutMix, no neighbour positive) is
``objective='paper'``. Switches: ``bag_size``, ``cutmix``, ``neighbour_weight`` (w1 after the warm-up),
``warmup_fraction``, ``teacher_feature``.
"""
import torch

from .base import Method
from .common import FeatureQueue, l2_normalize
from .heads import mlp_head
from .kmeans import faiss_knn_bags
from .losses import bingo_loss, bingo_paper_loss, cutmix_box
from .losses import cutmix as cutmix_images
from .registry import METHODS


@METHODS.register_module(name='bingo')
class BINGO(Method):
    description = "BINGO: student views of a sample and of its teacher-kNN bag partner, contrasted with the teacher's"
    paper = 'Xu et al., Bag of Instances Aggregation Boosts Self-supervised Distillation, ICLR 2022'
    needs_teacher = True
    num_views = 4            # xa1, xa2 (the sample), xp1, xp2 (its bag partner)
    partner_views = 2
    teacher_views = (1, 3)   # the teacher sees xa2 and xp2 only
    augmentation = 'mocov2'
    prepared = ('bags',)
    choices = {'teacher_feature': ('backbone', 'head'), 'objective': ('official', 'paper')}

    @classmethod
    def prepare(cls, ctx, hparams):
        k = hparams.get('bag_size', 5)
        if not isinstance(k, int) or not 1 <= k < ctx.num_samples:
            raise ValueError(f'bingo: bag_size={k!r} must be an integer in [1, {ctx.num_samples - 1}] '
                             f'(the training set has {ctx.num_samples} images)')

        def compute():
            ctx.log(f'bingo: {k} nearest neighbours of each of {ctx.num_samples} images in the teacher backbone features')
            return dict(bags=faiss_knn_bags(l2_normalize(ctx.teacher_features('backbone').float()), k))

        return dict(bags=ctx.cached('bingo_bags', dict(k=k), compute)['bags'])

    @classmethod
    def check_hyperparameters(cls, values):
        problems = super().check_hyperparameters(values)
        for name in ('neighbour_weight', 'warmup_fraction'):
            v = values.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not 0 <= v <= 1:
                problems.append(f'{name}={v!r} must be a number in [0, 1]')
        return problems

    def __init__(self, student, teacher=None, data_preprocessor=None, bags=None, queue_size=65536, temperature=0.2,
                 mlp_hidden=2048, bag_size=5, cutmix=True, neighbour_weight=0.5, warmup_fraction=11 / 200,
                 teacher_feature='head', objective='official'):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        if bags is None:
            raise ValueError('bingo needs the bags of the training set; the harness computes them with BINGO.prepare')
        dim = self.teacher_dim(teacher_feature)
        self.head = mlp_head(self.student.feat_dim, mlp_hidden, dim)
        self.queue = FeatureQueue(queue_size, dim, init='normal')
        self.temperature, self.teacher_feature, self.objective = temperature, teacher_feature, objective
        self.use_cutmix, self.neighbour_weight, self.warmup_fraction = cutmix, neighbour_weight, warmup_fraction

    def embed(self, x):
        return l2_normalize(self.head(self.student(x)))

    def weights(self):
        """(w0, w1): the own-view and the neighbour positive's weights at this point of training."""
        if self.progress < self.warmup_fraction:
            return 1.0, 0.0
        return 1.0 - self.neighbour_weight, self.neighbour_weight

    def _mix(self, xa, xp):
        """One CutMix box for the whole batch, from torch's (seeded) generator."""
        size = xa.shape[-1]
        lam = float(torch.distributions.Beta(2.0, 2.0).sample())
        cx, cy = (int(v) for v in torch.randint(0, size, (2,)))
        return cutmix_images(xa, xp, cutmix_box(lam, size, cx, cy))

    def loss(self, batch):
        xa1, _, xp1, _ = batch['views']
        t = batch['teacher']
        ta, tp = l2_normalize(t[1][self.teacher_feature]), l2_normalize(t[3][self.teacher_feature])
        sa, sp = self.embed(xa1), self.embed(xp1)
        queue = self.queue.bank.clone()
        if self.objective == 'paper':
            loss = bingo_paper_loss(sa, sp, ta, queue, self.temperature)
        else:
            sm, lam = None, 1.0   # without CutMix: the four anchor/partner terms only
            if self.use_cutmix:
                xm, lam = self._mix(xa1, xp1)
                sm = self.embed(xm)
            loss = bingo_loss(sa, sp, sm, ta, tp, queue, self.temperature, lam, self.weights())
        self.queue.enqueue(ta)
        return dict(loss_bingo=loss)

    def export_head(self):
        return self.head
