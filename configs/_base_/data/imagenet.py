# ImageNet-1k as the papers train and evaluate on it (docs/methods.md#paper-reproduction-suites): train/
# (1,281,167 images, 1000 class folders) and val/ (50,000 images), views of 224 x 224. val/ may be in class
# folders or flat as the validation archive unpacks (then labelled by LOC_val_solution.csv, the devkit's
# ground truth + meta.mat, or val.txt under the root; data.val_labels=FILE names another; benchmarks/data/imagenet.py).
# root=None on purpose: pass the folder with --data-root DIR.
# The 'center' evaluation view at 224 is resize-short-side-to-256 + centre crop 224, the papers' val
# transform (benchmarks/data/views.py).
data = dict(
    type='imagenet',
    root=None,
    image_size=224,
    val_labels=None,
    # 'full': the per-sample torchvision path of the papers' code; 'crop' decodes into the views' crops at a reduced
    # JPEG scale and batches the rest on the GPU (benchmarks/data/crops.py): same view distributions, faster;
    # 'dali': NVIDIA DALI (optional install) decodes and crops on the GPU, same parameters (benchmarks/data/dali.py)
    decode='full',
    verify_images='header',   # every file's first bytes checked before training (~6 s for ImageNet)
    on_corrupt='fail',        # 'skip': leave unreadable images out, listed in <run>/skipped_images.txt
    description='ImageNet-1k (ILSVRC2012) train/ and val/',
)
