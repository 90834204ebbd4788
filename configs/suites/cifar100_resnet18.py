# CIFAR-100, ResNet-50 -> ResNet-18 (both with the CIFAR stem), 32 px, one GPU:
#     python tools/bench.py --config cifar100_resnet18 --data-root /data/cifar   # holds cifar-100-python/
# The teacher is trained here first (MoCo v2, 800 epochs, configs/_base_/teachers/moco_v2_r50_cifar.py) and
# cached, or given: --teacher FILE. Budget: the MoCo CIFAR-10 demo's (200 epochs, batch 512, lr 0.06, wd 5e-4;
# budgets/one_gpu_cifar.py) for every method. Time on one GPU: not measured yet (no GPU in the session that
# wrote this; docs/methods.md#dataset-suites keeps the measured figures).
_base_ = [
    '../_base_/data/cifar100.py',
    '../_base_/budgets/one_gpu_cifar.py',
    '../_base_/teachers/moco_v2_r50_cifar.py',
    '../_base_/evals/one_gpu.py',
    '../_base_/methods/one_gpu_32px.py',   # the 15 methods, banks K = 4096 (MoCo CIFAR demo)
]
suite = 'cifar100_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=True)
# cc: 50,000 / 80 = 625 clusters
