# CIFAR-100 from the python pickle batches (cifar-100-python/ as cifar-100-python.tar.gz unpacks it): 50,000
# train / 10,000 test images of 32 x 32, 100 classes, held in memory (batched views). Probes and kNN fit on
# train, everything is measured on test; retrieval on test's classes 50-99. Nothing is downloaded:
# --data-root is the folder that contains cifar-100-python/.
# At 32 px the view recipes are the 224 px ones scaled (benchmarks/data/views.py): MoCo v2's blur becomes a
# 3 x 3 kernel with sigma <= 0.29 px, close to the no-blur CIFAR recipes (SimCLR appendix B.9; the MoCo
# CIFAR-10 demo, facebookresearch/moco colab/moco_cifar10_demo.ipynb).
data = dict(
    type='cifar100',
    root=None,
    image_size=32,
    description='CIFAR-100 (python version: cifar-100-python/)',
)
