# Tiny-ImageNet (Le & Yang, CS231N 2015) as tiny-imagenet-200.zip unpacks it: 100,000 train / 10,000 val JPEGs of
# 64 x 64, 200 classes; val labels from val/val_annotations.txt (the test split has none). Decoded per sample.
data = dict(
    type='tiny_imagenet',
    root=None,
    image_size=64,
    decode='crop',            # decode into the views' crops, the rest batched (benchmarks/data/crops.py)
    verify_images='header',
    on_corrupt='fail',
    description='Tiny-ImageNet (tiny-imagenet-200/)',
)
