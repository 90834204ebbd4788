# CompRess Table 1, block "MoCo R-50 -> ResNet-18" (project-page image result_table1.png in
# UMBCvision/CompRess), as runnable settings:
#     python tools/bench.py --config paper_compress_resnet18 --data-root /data/imagenet \
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
suite = 'paper_compress_resnet18'
# the official models/resnet.py ResNet-18: loss on the 512-d avgpool feature, no projection
# (train_student.py, get_student_model)
student = dict(arch='resnet18', width=1.0, small_input=False)
paper = dict(
    results={
        'teacher': dict(linear_top1=70.8, knn1_top1=57.3, ca_top1=34.2),
        'supervised (paper only)': dict(linear_top1=69.8, knn1_top1=63.0, ca_top1=44.9),
        'cc': dict(linear_top1=61.1, knn1_top1=51.1, ca_top1=25.2),
        'crd': dict(linear_top1=58.4, knn1_top1=43.7, ca_top1=17.4),
        'reg': dict(linear_top1=52.2, knn1_top1=41.7, ca_top1=25.6),
        'reg_bn': dict(linear_top1=58.2, knn1_top1=47.3, ca_top1=27.2),
        'compress_2q': dict(linear_top1=61.7, knn1_top1=53.4, ca_top1=34.7),
        'compress_1q': dict(linear_top1=62.6, knn1_top1=53.5, ca_top1=33.0),
    },
)
