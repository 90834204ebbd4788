# SlimCLR-MoCo v2 ResNet-50, 200 epochs, widths 1 / 0.75 / 0.5 / 0.25 (Zhao, Zhu, Wang, Yang, IJCV 2024;
# mzhaoshuai/SlimCLR scripts/mocov2.sh), as runnable settings:
#     python tools/bench.py --config paper_slimclr_mocov2_r50 --data-root /data/imagenet
# One slimmable ResNet-50 is trained; every width is exported and evaluated as its own row
# ('slimclr w1', 'slimclr w0.75', 'slimclr w0.5', 'slimclr w0.25'). The suite's student is the smallest
# width (ResNet-50 x0.25), so the full width is x1.0 (methods/slimclr.py).
# No teacher: the full-width network distils its sub-networks online.
#
# Evaluation: the MoCo linear protocol per width. Not expressible here: SlimCLR's "switchable linear
# probe" (lr 60, batch 128/GPU, one head per width, sub-width heads trained with (CE + soft-CE from the
# full-width head) / 2; official main_ssl_lincls.py) -- the harness probes each exported width alone with the MoCo
# protocol (lr 30, 100 epochs, steps 60/80).
_base_ = [
    '../_base_/data/imagenet.py',
    '../_base_/budgets/slimclr_imagenet.py',
    '../_base_/teachers/moco_v2_r18w05.py',
    '../_base_/evals/moco_protocol.py',
]
suite = 'paper_slimclr_mocov2_r50'
student = dict(arch='resnet50', width=0.25, small_input=False)
# SlimCLR needs no teacher; the section stays only because every suite resolves one. `required=False`:
# nothing is loaded or trained unless --teacher is given.
teacher = dict(
    checkpoint=None,
    spec=None,
    required=False,
    description='none: SlimCLR trains without a teacher (its full width distils the sub-networks online)',
)
methods = ['slimclr']
method_cfgs = dict(
    # scripts/mocov2.sh: widths [1, .75, .5, .25], MoCo v2 at full width (K = 65,536, T = 0.2,
    # m = 0.999, dim 128), KD weight a = 0.5 at T_s = T_t = 5 on raw cosines, full-width loss weight 2.5
    # (--slim_loss_weighted 5), sub-networks join after 100 of 200 epochs
    slimclr=dict(widths=[1.0, 0.75, 0.5, 0.25], full_width=1.0, queue_size=65536, dim=128, temperature=0.2,
                 momentum=0.999, aux_loss_weight=0.5, student_temperature=5.0, teacher_temperature=5.0,
                 reweight=True, slow_start=0.5),
)
paper = dict(
    title='SlimCLR: Slimmable Networks for Contrastive Self-supervised Learning (Zhao, Zhu, Wang, Yang, IJCV 2024; '
          'arXiv 2209.15525), SlimCLR-MoCo v2 ResNet-50',
    source='SlimCLR paper, Table (MoCo v2 ResNet-50 widths); official mzhaoshuai/SlimCLR scripts/mocov2.sh',
    protocol='ImageNet-1k linear top-1 (%) with SlimCLR\'s switchable linear probe (per-width heads, lr 60, '
             '100 epochs, steps 60/80; docs/methods.md#linear-probe); 200- and 800-epoch pre-training',
    gpu_hours=dict(
        slimclr='not reported by the paper as GPU hours (8 V100 is unverified)',
        reference='MoCo v2 R-50 200 ep (not slimmable): 53 h on 8 V100 (facebookresearch/moco README)',
    ),
    # Unverified (docs/methods.md#paper-reproduction-suites): the paper tables were not checked; the full-width
    # and 0.75x numbers are not transcribed. The 800-epoch values have no counterpart in this 200-epoch suite.
    results={
        'slimclr w0.5': dict(linear_top1=62.5),
        'slimclr w0.25': dict(linear_top1=55.1),
        'slimclr w0.5, 800 ep (paper only)': dict(linear_top1=65.6),
        'slimclr w0.25, 800 ep (paper only)': dict(linear_top1=57.6),
    },
    unverified=['slimclr w0.5', 'slimclr w0.25', 'slimclr w0.5, 800 ep (paper only)',
                'slimclr w0.25, 800 ep (paper only)'],
)
