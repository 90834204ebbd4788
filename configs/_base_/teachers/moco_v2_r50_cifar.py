# The teacher of the 32 / 64 px suites: a ResNet-50 with the CIFAR stem (3x3 conv, stride 1, no max-pool)
# trained here with MoCo v2 on the suite's training split when no --teacher is given, with the MoCo CIFAR-10
# demo's recipe (facebookresearch/moco colab/moco_cifar10_demo.ipynb: K = 4096, at which the demo says the
# queue saturates on CIFAR; m = 0.99, T = 0.1, batch 512, lr 0.06, wd 5e-4, cosine) for 800 epochs (the demo's
# longest schedule). Or pass a checkpoint: --teacher FILE (a MoCo-style ResNet-50 CIFAR-stem state dict; the
# stem is read from the weights).
_base_ = ['./moco_v2_r18w05.py']
teacher = dict(
    arch=dict(arch='resnet50', width=1.0, small_input=True),
    train=dict(
        method='moco_v2',
        method_cfg=dict(queue_size=4096, momentum=0.99, temperature=0.1),
        epochs=800,
        batch_size=512,
        optimizer=dict(type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4),
        schedule=dict(type='cosine', warmup_epochs=0),
        num_workers=4,
        log_interval=50,
        checkpoint_interval=10,
    ),
)
