# The SEED student budget (official tools/opts.py, main.py of jacobswan1/SEED): 200 epochs, SGD
# momentum 0.9, wd 1e-4, base lr 0.03 scaled by batch/256, cosine schedule, mixed precision always on.
# Inherits cpu_tiny.py so budget keys added there later (with their defaults) stay present.
#
# Batch: the paper's batch size is unverified (the code default, 4, is a debugging value); 256 is the
# MoCo v2 batch the SEED code derives from. At 256 the lr scaling is x1, so lr = 0.03 exactly and SEED's
# 5-epoch warm-up "from lr to lr x batch/256" is a no-op: warmup_epochs=0 reproduces it.
# Not expressible here: SEED's data loading (TSV-packed ImageNet) -- same images, another container.
_base_ = ['./cpu_tiny.py']
seed = 0
augmentation = 'mocov2'       # --teacher_ssl moco with an MLP teacher -> the MoCo v2 aug+ recipe (SEED main.py)
budget = dict(
    epochs=200,
    batch_size=256,
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
    schedule=dict(type='cosine', warmup_epochs=0),
    amp='fp16',               # torch.cuda.amp (float16 autocast + GradScaler), always on in main.py
    sync_bn=False,
    num_workers=8,            # not a paper setting: JPEG decoding at ImageNet scale needs workers
    log_interval=100,
    checkpoint_interval=10,
)
