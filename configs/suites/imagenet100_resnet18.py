# ImageNet-100 (the CMC class list), ResNet-50 -> ResNet-18, 224 px, one GPU:
#     python tools/bench.py --config imagenet100_resnet18 --data-root /data/imagenet
# --data-root is an ImageNet folder (only the 100 listed classes are read) or a subset of symlinked class
# folders. The teacher is trained here first (MoCo v2, 400 epochs, configs/_base_/teachers/moco_v2_r50_in100.py)
# and cached, or given: --teacher FILE. Budget: the MoCo v2 recipe for 200 epochs (budgets/one_gpu_imagenet100.py)
# for every method. Time on one GPU: not measured yet (no GPU in the session that wrote this;
# docs/methods.md#dataset-suites keeps the measured figures).
_base_ = [
    '../_base_/data/imagenet100.py',
    '../_base_/budgets/one_gpu_imagenet100.py',
    '../_base_/teachers/moco_v2_r50_in100.py',
    '../_base_/evals/one_gpu.py',
]
suite = 'imagenet100_resnet18'
student = dict(arch='resnet18', width=1.0, small_input=False)
methods = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
           'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'supervised']
# Banks of 16,384 (the HobbitLong/CMC README's MoCo command for its ImageNet-100 subset, --nce_k 16384; the ImageNet defaults of 65,536-128,000 would hold each of the
# 126,689 images half to once); EMA momenta at the MoCo v2 0.999 (~99k steps); CRD's 16,384 negatives (its
# default); cc's clusters scale with the data (methods/cluster.py: 126,689 / 80 = 1,584).
method_cfgs = dict(
    moco_v2=dict(queue_size=16384),
    moco_v2_small=dict(queue_size=16384),
    compress_2q=dict(bank_size=16384),
    compress_2q_nomom=dict(bank_size=16384),
    compress_1q=dict(bank_size=16384),
    crd=dict(num_negatives=16384),
    cc=dict(num_clusters=None),
    seed=dict(queue_size=16384),
    disco=dict(queue_size=16384),
    bingo=dict(queue_size=16384),
    slimclr=dict(queue_size=16384),
)
