# Evaluations of the one-GPU dataset suites (cifar100_resnet18, stl10_resnet18, imagenet100_resnet18): the
# default protocol without detection transfer (the CIFAR-stem students have no detector backbone; for the
# ImageNet-100 students add it with --evals ...,detection and a VOC folder). Retrieval and CA run on the
# suite's own evaluation split (test for CIFAR / STL-10, val for ImageNet-100): retrieval on its second half
# of the classes (class-disjoint), CA's k-means fit on the probe split (train).
_base_ = ['./default.py']
evals = dict(
    suites=['knn', 'linear', 'retrieval', 'ca', 'flops', 'latency'],
    flops=dict(sizes=[]),     # GMACs at the suite's image size only (a CIFAR stem at 224 px means nothing)
)
