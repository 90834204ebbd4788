# The CompRess Table 1 teacher: the official MoCo v2 ResNet-50 800-epoch checkpoint (71.1 % MoCo linear;
# 70.8 % under the CompRess linear protocol). That it is the 800-ep model is inferred, not stated
# (inferred, unverified: docs/methods.md#paper-reproduction-suites). File and key layout:
# docs/methods.md#teacher-checkpoints.
# The student sees the teacher's 2048-d pooled backbone feature (no MoCo MLP head, as CompRess train_student.py).
# Inherits the MoCo v2 recipe (moco_v2_r50_imagenet.py, on moco_v2_r18w05.py) so teacher keys added there later
# (with their defaults) stay present.
_base_ = ['./moco_v2_r50_imagenet.py']
teacher = dict(
    checkpoint=None,          # --teacher PATH/moco_v2_800ep_pretrain.pth.tar
    spec='moco_v2',
    required=True,            # a paper reproduction must not silently train its own stand-in teacher
    description='MoCo v2 ResNet-50 800 ep, moco_v2_800ep_pretrain.pth.tar (facebookresearch/moco README)',
    # Only used if `required` is switched off: the MoCo v2 recipe at 800 epochs, K = 65,536.
    train=dict(method_cfg=dict(queue_size=65536), epochs=800),
)
