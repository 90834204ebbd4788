# SEED ResNet-18 from a MoCo v2 ResNet-50 teacher (Fang et al., ICLR 2021; jacobswan1/SEED), as
# runnable settings, with the MoCo v2 R-18 student baseline of the same table:
#     python tools/bench.py --config paper_seed_resnet18 --data-root /data/imagenet \
#         --teacher moco_v2_200ep_pretrain.pth.tar
# Data: ImageNet-1k at 224 px; teacher: MoCo v2 R-50 200 ep; budget: SEED's official code (tools/opts.py, batch
# 256 because the paper's is unverified); evaluation: the MoCo linear protocol (lr 30, 100 epochs), which
# SEED uses (its main_lincls.py) -- not comparable with CompRess-protocol numbers (docs/methods.md#linear-probe).
# `paper` holds the published numbers for benchmarks/reporting/paper.py.
_base_ = [
    '../_base_/data/imagenet.py',
    '../_base_/budgets/seed_imagenet.py',
    '../_base_/teachers/moco_v2_r50_200ep.py',
    '../_base_/evals/moco_protocol.py',
]
suite = 'paper_seed_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=False)
# moco_v2 = the "MoCo-v2 student baseline" row: MoCo v2 trained directly on the ResNet-18. Under this
# budget (lr 0.03, batch 256, cosine, 200 epochs) it is the MoCo v2 recipe itself (facebookresearch/moco README).
methods = ['seed', 'moco_v2']
method_cfgs = dict(
    # official defaults (tools/opts.py, seed/builder.py): K = 65,536 teacher embeddings, tau_S = 0.2,
    # tau_T = 1e-4 (the code's; the paper's tau_T is unverified), the teacher's 128-d MoCo v2 head output,
    # student MLP Linear(512, 512)-ReLU-Linear(512, 128)
    seed=dict(queue_size=65536, student_temperature=0.2, teacher_temperature=1e-4, teacher_feature='head',
              teacher_norm='l2', student_head='mlp', mlp_hidden=None),
    # MoCo v2 (facebookresearch/moco): K = 65,536, T = 0.2, m = 0.999, 128-d MLP head. Not expressible
    # exactly: shuffle BN over 8 GPUs (32 keys each); shuffle_bn_splits=1 keeps the harness default (one BN
    # over the batch).
    moco_v2=dict(queue_size=65536, dim=128, temperature=0.2, momentum=0.999, mlp_hidden=None,
                 shuffle_bn_splits=1),
)
paper = dict(
    title='SEED: Self-supervised Distillation for Visual Representation (Fang, Wang, Wang, Zhang, Yang, Liu, '
          'ICLR 2021): ResNet-18 from MoCo v2 ResNet-50, as re-tabulated in BINGO\'s official imgs/imagenet.png',
    source='SEED paper (ICLR 2021) ResNet-18 results, as re-tabulated in BINGO imgs/imagenet.png',
    protocol='ImageNet-1k linear top-1 / top-5 (%), MoCo linear protocol (raw avgpool features, SGD lr 30, wd 0, '
             '100 epochs, steps 60/80; docs/methods.md#linear-probe); teacher MoCo v2 R-50 at 67.4 % top-1',
    gpu_hours=dict(
        student='not reported by the paper',
        teacher='MoCo v2 R-50 200 ep: 53 h on 8 V100 (facebookresearch/moco README)',
    ),
    results={
        'teacher': dict(linear_top1=67.4),
        'supervised (paper only)': dict(linear_top1=69.5),
        'moco_v2': dict(linear_top1=52.5, linear_top5=77.0),
        'seed': dict(linear_top1=57.6, linear_top5=81.8),
    },
)
