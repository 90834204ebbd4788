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
]
suite = 'cifar100_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=True)
# every registered method of the default suite (slimclr_mocov3 with --methods all)
methods = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
           'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'supervised']
# Banks and EMA momenta at the MoCo CIFAR demo's values (K = 4096: the queue saturates there on CIFAR; m = 0.99
# for a 200-epoch, ~20k-step schedule); CRD's 16,384 negatives are its official CIFAR-100 setting
# (HobbitLong/RepDistiller --nce_k); cc's clusters scale with the data (methods/cluster.py: 50,000 / 80 = 625).
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
