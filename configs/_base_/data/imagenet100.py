# ImageNet-100: the 100 ImageNet-1k classes of Contrastive Multiview Coding (Tian, Krishnan, Isola, ECCV 2020;
# HobbitLong/CMC imagenet100.txt, shipped as benchmarks/data/class_lists/imagenet100_cmc.txt): 126,689 train /
# 5,000 val images. --data-root is an ImageNet folder (train/ and val/ as for data/imagenet.py) or a subset
# of symbolic links to its class folders; only the listed classes are read, nothing is copied.
data = dict(
    type='imagenet100',
    root=None,
    image_size=224,
    classes_file=None,        # None: the CMC list; or a file with one wnid per line for another subset
    val_labels=None,          # flat val/ only: the label file when it is not under the root
    # 'crop': each file decoded once into its views' crops at the reduced JPEG scale the crops allow, the rest
    # of the recipe batched on the training device (benchmarks/data/crops.py; for mocov2 about 5.5x the loader
    # images/s per core of 'full', the per-sample torchvision path, when the views finish on the GPU, 1.1x all
    # on the CPU: tools/perf.py --only data_path). 'dali': NVIDIA DALI (optional install) decodes on the GPU
    decode='crop',
    verify_images='header',
    on_corrupt='fail',
    description='ImageNet-100 (the CMC class list) from an ImageNet train/ and val/',
)
