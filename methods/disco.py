"""DisCo: distilled contrastive learning for lightweight models.

Gao, Zhuang, Lin, Cheng, Sun, Li, Shen, "DisCo: Remedy Self-supervised Learning on Lightweight Models with
Distilled Contrastive Learning", ECCV 2022; behaviour of the official code Yuting-Gao/DisCo-pytorch
(``moco/builder_kq_mse_largeembedding_2048.py``, ``main.py``). The student keeps its own MoCo v2 objective
and its final embedding is also pulled onto the frozen teacher's final embedding, on both views:

    q1 = norm(H(f(x1))), q2 = norm(H(f(x2)))    [N, D]   student + its MLP head, with gradient
    k  = norm(H_k(f_k(x2)))                      [N, D]   EMA key encoder (updated before the keys)
    t_v = norm(H_T(f_T(x_v)))                    [N, D]   teacher *with its SSL projection head*
    L = CE([q1·k, q1·Q] / τ, 0) + w · Σ_v mean_i ‖q_v,i − t_v,i‖²        then Q ← enqueue(k)

The student head is ``Linear(d, 2048) - ReLU - Linear(2048, D)``: the official code hard-codes the wide
2048 hidden layer (the paper's remedy for the "distilling bottleneck"); D is the teacher's embedding
width (128 for MoCo v2). The queue holds student keys and starts as random unit vectors.

Defaults follow the official code: τ 0.2 (every published command passes ``--moco-t 0.2``), m 0.999,
distillation weight w = 32, which is what the official ``MSELoss(reduction='sum')`` over each GPU's 32
images amounts to per sample (methods/losses/disco.py). Deviations: the official code leaves the frozen
teacher in train mode, so its batch norm uses the statistics of each 32-image GPU batch; here the teacher
runs in eval mode (running statistics), which the shared teacher outputs of the harness require. The
official student queue is accidentally initialised with a MoCo teacher's queue (its keys are loaded with
``strict=False``); here it starts random, as the paper describes.
"""
from .common import l2_normalize
from .losses import disco_distill_loss, infonce_loss
from .moco import MoCoV2
from .registry import METHODS


@METHODS.register_module(name='disco')
class DisCo(MoCoV2):
    description = "DisCo: MoCo v2 student whose embedding also matches the teacher's, on both views"
    paper = ('Gao et al., DisCo: Remedy Self-supervised Learning on Lightweight Models with Distilled '
             'Contrastive Learning, ECCV 2022')
    needs_teacher = True
    num_views = 2
    augmentation = 'mocov2'

    def __init__(self, student, teacher=None, data_preprocessor=None, queue_size=65536, temperature=0.2,
                 momentum=0.999, mlp_hidden=2048, distill_weight=32.0, teacher_feature='head', shuffle_bn_splits=1):
        # Method.__init__ (not MoCoV2's, which drops the teacher); the MoCo parts are built on the teacher's width
        super(MoCoV2, self).__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        self.teacher_feature, self.distill_weight = teacher_feature, distill_weight
        self.build_contrastive(self.teacher_dim(teacher_feature), mlp_hidden, queue_size, temperature, momentum,
                               shuffle_bn_splits)

    def loss(self, batch):
        x1, x2 = batch['views'][0], batch['views'][1]
        q1, q2 = self.embed(x1), self.embed(x2)
        k = self.momentum_keys(x2)
        t = [l2_normalize(out[self.teacher_feature]) for out in batch['teacher'][:2]]
        contrastive = infonce_loss(q1, k, self.queue.bank.clone(), self.temperature)
        distill = disco_distill_loss([q1, q2], t)
        self.queue.enqueue(k)
        return dict(loss_infonce=contrastive, loss_distill=self.distill_weight * distill)
