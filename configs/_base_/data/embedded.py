# The embedded default: procedurally generated shapes under nuisance variation (benchmarks/data/synthetic.py).
# Written once into the cache ($SSLCB_CACHE, default ~/.cache/ssl-compress-bench) in a few seconds.
data = dict(
    type='embedded',          # 'embedded' | 'imagefolder' (then set root, or pass --data-root DIR)
    root=None,
    # ImageFolder only (benchmarks/data/imagefolder.py): the check of every image before training --
    # 'header' (first 32 bytes: a known image signature), 'decode' (full decode, slow) or 'none'
    verify_images='header',
    on_corrupt='fail',        # unreadable images: 'fail' (stop, list them) | 'skip' (leave out, skipped_images.txt)
    num_classes=10,           # shapes used as classes (up to 13)
    train_per_class=500,
    val_per_class=100,
    image_size=64,            # views are image_size x image_size
    seed=0,                   # generator seed (independent of the training seed)
    # the nuisance of the images (benchmarks/data/synthetic.py): clutter segments and blobs per image, sensor
    # noise (grey levels), and how often the object wears its class colour / class texture
    clutter_lines=4,
    clutter_blobs=3,
    noise_std=6.0,
    class_colour_prob=0.3,
    class_texture_prob=0.7,
)
