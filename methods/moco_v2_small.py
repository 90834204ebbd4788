"""MoCo v2 with the small-model recipe of Shi et al.: the from-scratch baseline, improved, no teacher.

Shi, Wang, Zhou, Tan, Chang, Zhu, "On the Efficacy of Small Self-Supervised Contrastive Models without
Distillation Signals", AAAI 2022; official code WOWNICE/ssl-small (``main_moco_final.py``,
``moco/builder.py``). Small models do not overfit instance discrimination but over-cluster; the paper's
recipe changes MoCo v2 in three places, each a switch here (the defaults are the README command's):

* a wider projection MLP ``Linear(d, 2d) - ReLU - Linear(2d, 128)`` (``--mlp-type wide``):
  ``mlp_hidden=None`` means 2d (``mlp_hidden_mult=2``); any width can be set;
* temperature τ = 0.1 (MoCo v2: 0.2);
* stronger colour distortion: ColorJitter(0.8, 0.8, 0.8, 0.4) and grayscale p = 0.5 (``--cj 1
  --grey-scale 0.5``; recipe ``mocov2_strong``, benchmarks/data/views.py). The recipe belongs to the
  class; ``moco_v2`` with ``mlp_hidden``/``temperature`` set is the same method without it.

Loss, EMA key encoder and queue are MoCo v2's (`methods.moco.MoCoV2`). Batch 512 / lr 0.06, 800 epochs
and AMP are budget settings and stay the suite's (fair-comparison rule: methods set only their own
hyperparameters). Deviations: the README command warm-starts from a SEED-distilled checkpoint
(``--resume ... --restart``), which would make it a distillation method; this baseline starts from random
initialisation, as the paper's title claims.
"""
from .moco import MoCoV2
from .registry import METHODS


@METHODS.register_module(name='moco_v2_small')
class MoCoV2Small(MoCoV2):
    description = "MoCo v2 with Shi et al.'s small-model recipe: 2d-wide MLP, tau 0.1, strong colour (no teacher)"
    paper = ('Shi et al., On the Efficacy of Small Self-Supervised Contrastive Models without Distillation '
             'Signals, AAAI 2022')
    needs_teacher = False
    num_views = 2
    augmentation = 'mocov2_strong'

    def __init__(self, student, teacher=None, data_preprocessor=None, queue_size=65536, dim=128,
                 temperature=0.1, momentum=0.999, mlp_hidden=None, mlp_hidden_mult=2, shuffle_bn_splits=1):
        # Method.__init__ builds the student exactly as for moco_v2 (same seed, same initialisation); the
        # "wide" head is mlp_hidden_mult x its feature width unless mlp_hidden is given
        super(MoCoV2, self).__init__(student, teacher=None, data_preprocessor=data_preprocessor)
        self.build_contrastive(dim, mlp_hidden, queue_size, temperature, momentum, shuffle_bn_splits,
                               hidden_mult=mlp_hidden_mult)
