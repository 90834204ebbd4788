# The CompRess Table 1 teacher: the official MoCo v2 ResNet-50 800-epoch checkpoint (71.1 % MoCo linear;
# 70.8 % under the CompRess linear protocol). That it is the 800-ep model is inferred, not stated
# (inferred, unverified: docs/methods.md#paper-reproduction-suites). File and key layout:
# docs/methods.md#teacher-checkpoints.
# The student sees the teacher's 2048-d pooled backbone feature (no MoCo MLP head, as CompRess train_student.py).
# Inherits moco_v2_r18w05.py so teacher keys added there later (with their defaults) stay present.
_base_ = ['./moco_v2_r18w05.py']
teacher = dict(
    checkpoint=None,          # --teacher PATH/moco_v2_800ep_pretrain.pth.tar
    spec='moco_v2',
    required=True,            # a paper reproduction must not silently train its own stand-in teacher
    description='MoCo v2 ResNet-50 800 ep, moco_v2_800ep_pretrain.pth.tar (facebookresearch/moco README)',
    arch=dict(arch='resnet50', width=1.0, small_input=False),
    # Only used if `required` is switched off: the MoCo v2 recipe (facebookresearch/moco README) at 800 epochs.
    # Deviation: shuffle BN over 8 GPUs is not reproduced (moco_v2 here runs shuffle_bn_splits=1).
    train=dict(
        method='moco_v2',
        method_cfg=dict(queue_size=65536, momentum=0.999),
        epochs=800,
        batch_size=256,
        optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
        schedule=dict(type='cosine', warmup_epochs=0),
        num_workers=8,
        log_interval=100,
        checkpoint_interval=10,
    ),
)
