# STL-10 from the binary files (stl10_binary/ as stl10_binary.tar.gz unpacks it; Coates, Lee, Ng, AISTATS 2011):
# the 100,000 unlabelled 96 x 96 images train the students (and a teacher trained here), the 5,000 labelled
# train images fit the probes and the kNN bank, the 8,000 test images are measured; memory-mapped, batched views.
# image_size 64: random crops resized to 64 px for the CIFAR-stem students (our choice, to keep a one-GPU
# budget; --cfg-options data.image_size=96 trains at the native size), the evaluation view resizes the short
# side to 73 and centre-crops 64 (Resize(256) + CenterCrop(224) scaled).
data = dict(
    type='stl10',
    root=None,
    image_size=64,
    train_split='unlabeled',  # 'unlabeled' (the STL-10 protocol) | 'train+unlabeled' (adds the 5,000 labelled)
    description='STL-10 (binary version: stl10_binary/)',
)
