# One budget for every method of a suite (docs/methods.md#fair-comparison-rules): methods set only their
# own hyperparameters. Sized so `make bench` fits the 2-core CPU machine.
seed = 0
device = 'auto'               # 'auto' | 'cpu' | 'cuda' | 'cuda:N'
augmentation = None           # None: each method's paper recipe; or force one recipe for all methods
budget = dict(
    epochs=10,
    batch_size=64,
    # lr 0.015 at batch 64: the official recipes scaled linearly to this batch (CompRess 0.05 @ 256 -> 0.0125,
    # MoCo v2 0.03 @ 256 -> 0.0075); at 0.06 a 20-epoch MoCo v2 ResNet-18 x0.5 ended *below* its random
    # initialisation (20-NN 18.8 vs 31.8), at 0.015 it reached 31.9 with linear 36.2 vs 29.6
    optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=5e-4),
    schedule=dict(type='cosine', warmup_epochs=0),
    num_workers=0,            # in-memory data: workers only compete with compute on 2 cores
    log_interval=10,
    checkpoint_interval=1,
    # GPU options (refused on CPU before training): autocast dtype None | 'bf16' | 'fp16', NHWC memory
    # layout, SyncBatchNorm across processes (distributed runs; batch_size above is the global batch)
    amp=None,
    channels_last=False,
    sync_bn=False,
    # None: new random views every epoch; K: view seeds cycle over K epochs, so each image has K distinct
    # views (bounds the shared teacher-output storage to K slots for large datasets; changes the data
    # stream identically for every method)
    views_per_image=None,
    # where in-memory data gets its batched views: 'loader' (the collate function, in the loader workers),
    # 'device' (the data preprocessor, on the training device: the loader only moves uint8 images and the
    # per-sample parameters), 'auto' = 'device' on a GPU, 'loader' on the CPU. Same views either way.
    views_on='auto',
)
