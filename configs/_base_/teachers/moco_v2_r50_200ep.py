# The SEED R-18 teacher: MoCo v2 ResNet-50 200 ep. The SEED numbers (as re-tabulated in haohang96/bingo
# imgs/imagenet.png) list this teacher at 67.4 % (MoCo linear), which is the 200-epoch model (67.5 +- 0.1
# over 5 runs, 67.7 released; facebookresearch/moco README), not the 800-epoch one (71.1). File and key
# layout: docs/methods.md#teacher-checkpoints. SEED distils the teacher's 128-d MoCo v2 projection-head
# output (seed/builder.py), so the checkpoint's MLP head is needed.
_base_ = ['./moco_v2_r50_800ep.py']
teacher = dict(
    checkpoint=None,          # --teacher PATH/moco_v2_200ep_pretrain.pth.tar
    spec='moco_v2',
    required=True,
    description='MoCo v2 ResNet-50 200 ep, moco_v2_200ep_pretrain.pth.tar (facebookresearch/moco README)',
    # this checkpoint's training: 53 h on 8 V100 for 200 epochs (facebookresearch/moco README); the SlimCLR
    # revision letter's Table B times another 200-epoch MoCo v2 R-50 run (Shi et al.'s) at 8 V100 x 42.4 h
    published_gpu_hours=424.0,
    train=dict(epochs=200),   # only used if `required` is switched off: the MoCo v2 200-epoch recipe (MoCo README)
)
