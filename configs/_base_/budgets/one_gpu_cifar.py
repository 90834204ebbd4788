# One-GPU budget for the 32 / 64 px suites (cifar100_resnet18, stl10_resnet18): the MoCo CIFAR-10 demo's
# recipe (facebookresearch/moco colab/moco_cifar10_demo.ipynb: 200 epochs, batch 512, SGD lr 0.06 = 0.03 x
# 512/256, momentum 0.9, wd 5e-4, cosine), applied to every method (fair-comparison rule). The demo's ResNet-18
# reaches 82.6 % kNN on CIFAR-10 in 200 epochs (asymmetric loss; 88.7 at 800).
# GPU options stay off so the suite also runs (slowly) on a CPU: on a GPU add
# --cfg-options budget.amp=bf16 budget.channels_last=True.
_base_ = ['./cpu_tiny.py']
budget = dict(
    epochs=200,
    batch_size=512,
    optimizer=dict(type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4),
    schedule=dict(type='cosine', warmup_epochs=0),
    num_workers=4,            # the batched views run in the loader workers, beside the GPU
    log_interval=50,
    checkpoint_interval=10,
)
