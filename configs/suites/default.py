# The default suite: `make bench`. MoCo v2 ResNet-18 x0.5 teacher (2.80 M params) -> ResNet-18 x0.125
# students (0.18 M params, 16x smaller) on the embedded shapes dataset, 64 px, one CPU-sized budget.
_base_ = [
    '../_base_/data/embedded.py',
    '../_base_/budgets/cpu_tiny.py',
    '../_base_/teachers/moco_v2_r18w05.py',
    '../_base_/evals/default.py',
]
suite = 'default'
# every registered method but slimclr_mocov3 (a second slimmable training: four more students to train and
# evaluate, about 10 more minutes on 2 cores; `--methods all` includes it); the from-scratch baselines first,
# the supervised reference (trained on labels, shown but not ranked) last
methods = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
           'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr', 'supervised']
# A 16x compression: with x0.25 students (0.70 M params) the CompRess students matched this short-trained
# teacher (20-NN 33.9 / 34.0 vs 33.6), so the benchmark could not tell distillation quality apart.
student = dict(arch='resnet18', width=0.125, small_input=False)
# Every evaluation of evals/default.py but detection transfer, which is one flag away
# (`--evals knn,linear,retrieval,ca,flops,latency,detection`, about 45 s more per network). At this budget
# (200 fine-tuning iterations, 50 test images) it cannot rank students: over seeds 0-2 the random-init
# row's AP50 was 8.4 +- 18.1 and every student's interval overlapped the best one
# (results/reference/default-suite-14), while it took 13 of the 32 minutes of `make bench`.
evals = dict(suites=['knn', 'linear', 'retrieval', 'ca', 'flops', 'latency'])
# Method hyperparameters default to their __init__ signatures (docs/methods.md); two are rescaled to this data set and
# budget: banks (5,000 training images: a 128k bank would hold each image ~25 times) and EMA momentum
# (10 epochs = 780 steps: at 0.999 the key encoder would still be 46 % its random initialisation).
method_cfgs = dict(
    moco_v2=dict(queue_size=2048, momentum=0.99),
    moco_v3=dict(momentum=0.99),      # the official value (cosine ramp to 1)
    compress_2q=dict(bank_size=2048, momentum=0.99),
    compress_2q_nomom=dict(bank_size=2048),
    compress_1q=dict(bank_size=2048),
    crd=dict(num_negatives=4096),     # 16,384 > 5,000 images; the memory itself is one row per image
    cc=dict(num_clusters=None),       # round(5,000 / 80) = 62 clusters (methods/cluster.py)
    seed=dict(queue_size=2048),
    disco=dict(queue_size=2048, momentum=0.99),
    bingo=dict(queue_size=2048),      # bags of 5 teacher neighbours; no momentum encoder to rescale
    moco_v2_small=dict(queue_size=2048, momentum=0.99),
    # widths [1, .75, .5, .25] of a x0.5 network: the w0.25 row is the suite's x0.125 student
    slimclr=dict(queue_size=2048, momentum=0.99),
)
