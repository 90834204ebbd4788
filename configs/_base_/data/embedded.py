# The embedded default: procedurally generated shapes under nuisance variation (benchmarks/data/synthetic.py).
# Written once into the cache ($SSLCB_CACHE, default ~/.cache/ssl-compress-bench) in a few seconds.
data = dict(
    type='embedded',          # 'embedded' | 'imagefolder' (then set root, or pass --data-root DIR)
    root=None,
    # ImageFolder only (benchmarks/data/imagefolder.py): the check of every image before training --
    # 'header' (first 32 bytes: a known image signature), 'decode' (full decode, slow) or 'none'
    verify_images='header',
    on_corrupt='fail',        # unreadable images: 'fail' (stop, list them) | 'skip' (leave out, skipped_images.txt)
    # ImageFolder only: 'full' (decode each file, torchvision transforms per sample) | 'crop' (decode into the views'
    # crops at a reduced JPEG scale, the rest batched, on the GPU when training there: benchmarks/data/crops.py) |
    # 'dali' (NVIDIA DALI, if installed, decodes and crops on the training GPU: benchmarks/data/dali.py)
    decode='full',
    num_classes=10,           # shapes used as classes (up to 13)
    train_per_class=500,
    val_per_class=100,
    image_size=64,            # views are image_size x image_size
    seed=0,                   # generator seed (independent of the training seed)
    # the nuisance of the images (benchmarks/data/synthetic.py): clutter segments and blobs per image, sensor
    # noise (grey levels), and how often the object wears its class colour / class texture. The default suite
    # draws clean images (no clutter, no noise; the generator's own defaults are 4 / 3 / 6.0): on the cluttered
    # images a 50-epoch MoCo v2 teacher was at most a few points above nearest neighbours on raw pixels (1-NN
    # 31.7 vs 27.9, R@1 36.6 vs 37.0), on clean ones a 20-epoch one already beat them by 6-19 points
    # (1-NN / 20-NN / linear / R@1 35.3 / 37.3 / 43.4 / 45.0 vs 29.1 / 27.8 / 24.5 / 37.2).
    clutter_lines=0,
    clutter_blobs=0,
    noise_std=0.0,
    class_colour_prob=0.3,
    class_texture_prob=0.7,
)
