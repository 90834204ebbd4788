# Self-distillation (a reviewer-style sanity check, docs/methods.md#ablation-switches): the teacher has
# the student's architecture (ResNet-18 x0.125), trained with MoCo v2 on the same data, then distilled into
# a fresh student of the same architecture. Does distillation help beyond the teacher's own training?
#     python tools/bench.py --config self_distillation
# Everything else (data, budget, evaluation, method hyperparameters) is the default suite's. The teacher
# is trained once (its cache key includes the architecture) with the default teacher recipe (50 epochs).
_base_ = ['./default.py']
suite = 'self_distillation'
teacher = dict(arch=dict(arch='resnet18', width=0.125, small_input=False))
methods = ['moco_v2', 'compress_2q', 'compress_1q', 'crd', 'cc', 'reg', 'seed']
