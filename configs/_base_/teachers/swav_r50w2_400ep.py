# The ResNet-50x2 teacher of the SlimCLR revision letter's Table A (SEED / DisCo / BINGO rows): SwAV RN50-w2,
# 400 epochs, 77.3 % ImageNet linear top-1 (facebookresearch/swav model zoo, swav_RN50w2_400ep_pretrain.pth.tar,
# the file BINGO's scripts/SR18-TR50W2.sh loads). Layout 'swav': raw state dict, module.* backbone and a
# Linear(4096, 8192)-BN1d-ReLU-Linear(8192, 128) projection head (docs/methods.md#teacher-checkpoints); the
# width (x2, every stage widened) is read from the weights.
_base_ = ['./moco_v2_r50_800ep.py']
teacher = dict(
    checkpoint=None,          # --teacher PATH/swav_RN50w2_400ep_pretrain.pth.tar
    spec='swav',
    required=True,
    description='SwAV ResNet-50x2 400 ep, swav_RN50w2_400ep_pretrain.pth.tar (facebookresearch/swav model zoo)',
    # the letter's Table B times SwAV R-50x2 at 128 V100 x 36.0 h for *200* epochs; the 400-epoch checkpoint's own
    # cost is not published, so no figure is claimed for it (the suite's paper.gpu_hours quotes Table B)
    published_gpu_hours=None,
    arch=dict(arch='resnet50', width=2.0, small_input=False),
)
