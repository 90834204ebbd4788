# The MoCo v2 linear protocol, used by SEED (facebookresearch/moco and SEED main_lincls.py): raw avgpool features,
# SGD lr 30, momentum 0.9, wd 0, batch 256, 100 epochs, lr x0.1 at 60 and 80, RRC+flip views every
# epoch (mode 'augmented', recipe 'compress' = RRC(224) + flip, the main_lincls.py train transform).
# kNN is kept (SEED's own KNN column is unverified, docs/methods.md#unverified-statements). Inherits
# default.py for every other key.
#
# Deviations: the final linear epoch is reported (main_lincls.py keeps the best); the classifier is
# initialised N(0, 0.01) as in main_lincls.py.
_base_ = ['./default.py']
evals = dict(
    suites=['knn', 'linear', 'flops', 'latency'],
    linear=dict(protocol='moco', epochs_scale=1.0, mode='augmented', recipe='compress'),
    flops=dict(sizes=[224]),
    # raw pixels at 224 px are 150,528-d: a kNN/linear floor over 1.28 M images would need ~770 GB
    raw_pixel_floor=False,
)
