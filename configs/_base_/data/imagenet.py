# ImageNet-1k as the papers train and evaluate on it (docs/methods.md#paper-reproduction-suites): an
# ImageFolder root with train/ (1,281,167 images, 1000 classes) and val/ (50,000 images in 1000 class
# folders), views of 224 x 224. root=None on purpose: pass the folder with --data-root DIR.
# The 'center' evaluation view at 224 is resize-short-side-to-256 + centre crop 224, the papers' val
# transform (benchmarks/data/views.py).
data = dict(
    type='imagefolder',
    root=None,
    image_size=224,
    verify_images='header',   # every file's first bytes checked before training (~6 s for ImageNet)
    on_corrupt='fail',        # 'skip': leave unreadable images out, listed in <run>/skipped_images.txt
    description='ImageNet-1k (ILSVRC2012) train/ and val/ in ImageFolder layout',
)
