# A ResNet-50 teacher trained here with MoCo v2's ImageNet recipe (facebookresearch/moco README: m = 0.999, MLP
# head, batch 256, lr 0.03, wd 1e-4, cosine; shuffle BN over 8 GPUs is not reproduced: moco_v2 here runs
# shuffle_bn_splits=1). The teachers that inherit it set the epochs and the queue (and may take a checkpoint).
_base_ = ['./moco_v2_r18w05.py']
teacher = dict(
    arch=dict(arch='resnet50', width=1.0, small_input=False),
    train=dict(
        method='moco_v2',
        method_cfg=dict(momentum=0.999),
        batch_size=256,
        optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
        schedule=dict(type='cosine', warmup_epochs=0),
        num_workers=8,
        log_interval=100,
        checkpoint_interval=10,
    ),
)
