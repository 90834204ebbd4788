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
]
suite = 'stl10_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=True)
# 400 teacher epochs over the 100,000 unlabelled images: the steps of the CIFAR teacher's 800 over 50,000
teacher = dict(train=dict(epochs=400))
# every registered method of the default suite (slimclr_mocov3 with --methods all)
methods = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
           'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'supervised']
# Banks and EMA momenta at the MoCo CIFAR demo's values (K = 4096: the queue saturates there on CIFAR; m = 0.99
# for a 200-epoch, ~39k-step schedule); CRD's 16,384 negatives are its official CIFAR-100 setting
# (HobbitLong/RepDistiller --nce_k); cc's clusters scale with the data (methods/cluster.py: 100,000 / 80 = 1,250).
# supervised trains on the 5,000 labelled train images (the unlabelled split has no labels).
method_cfgs = dict(
    moco_v2=dict(queue_size=4096, momentum=0.99),
    moco_v3=dict(momentum=0.99),
    moco_v2_small=dict(queue_size=4096, momentum=0.99),
    compress_2q=dict(bank_size=4096, momentum=0.99),
    compress_2q_nomom=dict(bank_size=4096),
    compress_1q=dict(bank_size=4096),
    crd=dict(num_negatives=16384),
    cc=dict(num_clusters=None),
    seed=dict(queue_size=4096),
    disco=dict(queue_size=4096, momentum=0.99),
    bingo=dict(queue_size=4096),
    slimclr=dict(queue_size=4096, momentum=0.99),
)
