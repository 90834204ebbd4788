# STL-10, ResNet-50 -> ResNet-18 (both with the CIFAR stem), 64 px crops of the 96 px images, one GPU:
#     python tools/bench.py --config stl10_resnet18 --data-root /data   # holds stl10_binary/
# Students and a teacher trained here learn from the 100,000 unlabelled images; probes and kNN fit on the 5,000
# labelled train images, everything is measured on the 8,000 test images (the STL-10 protocol).
# The teacher is trained here first (MoCo v2, 400 epochs, configs/_base_/teachers/moco_v2_r50_cifar.py) and
# cached, or given: --teacher FILE. Budget: the MoCo CIFAR-10 demo's (200 epochs, batch 512, lr 0.06, wd 5e-4;
# budgets/one_gpu_cifar.py) for every method. Time on one GPU: not measured yet (no GPU in the session that
# wrote this; docs/methods.md#dataset-suites keeps the measured figures).
_base_ = [
    '../_base_/data/stl10.py',
    '../_base_/budgets/one_gpu_cifar.py',
    '../_base_/teachers/moco_v2_r50_cifar.py',
    '../_base_/evals/one_gpu.py',
    '../_base_/methods/one_gpu_32px.py',   # the 15 methods, banks K = 4096 (MoCo CIFAR demo)
]
suite = 'stl10_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=True)
# 400 teacher epochs over the 100,000 unlabelled images: the steps of the CIFAR teacher's 800 over 50,000
teacher = dict(train=dict(epochs=400))
# cc: 100,000 / 80 = 1,250 clusters; supervised trains on the 5,000 labelled train images (the unlabelled
# split has no labels)
