# CompRess Table 1, block "MoCo R-50 -> AlexNet" (project-page image result_table1.png in
# UMBCvision/CompRess), as runnable settings:
#     python tools/bench.py --config paper_compress_alexnet --data-root /data/imagenet \
#         --teacher moco_v2_800ep_pretrain.pth.tar
# Data: ImageNet-1k at 224 px; teacher: MoCo v2 R-50 800 ep (inferred, unverified); budget: the official
# train_student.py defaults (130 epochs, batch 256, SGD lr 0.01, steps 90/120 x0.2); evaluation: the
# CompRess linear protocol, 1-NN and CA (official eval_linear.py, eval_knn.py, eval_cluster_alignment.py).
# `paper` holds the published numbers of this block for benchmarks/reporting/paper.py. Sized for GPUs
# (1.28 M images x 130 epochs); on a CPU machine use the default suite.
_base_ = [
    '../_base_/data/imagenet.py',
    '../_base_/budgets/compress_imagenet.py',
    '../_base_/teachers/moco_v2_r50_800ep.py',
    '../_base_/evals/compress_protocol.py',
    '../_base_/paper/compress_table1.py',
]
suite = 'paper_compress_alexnet'
# the official models/alexnet.py AlexNet (no BN): loss on fc7 after ReLU, 4096-d (train_student.py,
# get_student_model)
student = dict(arch='alexnet', width=1.0, small_input=False)
paper = dict(
    results={
        'teacher': dict(linear_top1=70.8, knn1_top1=57.3, ca_top1=34.2),
        'supervised (paper only)': dict(linear_top1=56.5, knn1_top1=41.4, ca_top1=22.9),
        'cc': dict(linear_top1=46.4, knn1_top1=31.6, ca_top1=13.7),
        'crd': dict(linear_top1=54.4, knn1_top1=36.9, ca_top1=14.1),
        'reg': dict(linear_top1=49.9, knn1_top1=35.6, ca_top1=9.5),
        'reg_bn': dict(linear_top1=56.1, knn1_top1=42.8, ca_top1=22.3),
        'compress_2q': dict(linear_top1=56.4, knn1_top1=48.4, ca_top1=33.3),
        'compress_1q': dict(linear_top1=57.5, knn1_top1=48.0, ca_top1=27.0),
    },
)
