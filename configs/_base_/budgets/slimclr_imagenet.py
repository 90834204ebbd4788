# The SlimCLR-MoCo v2 200-epoch budget (official scripts/mocov2.sh of mzhaoshuai/SlimCLR): batch 1024
# (256 per GPU), SGD lr 0.2, momentum 0.9, wd 1e-4, cosine, warm-up 5 % of training (10 of 200 epochs),
# mixed precision. Inherits cpu_tiny.py so budget keys added there later (with their defaults) stay present.
#
# Not expressible here: `slim_start_lr` (main_ssl.py resets the schedule's base lr to 1e-4 when the
# sub-networks join, since scripts/mocov2.sh passes no --slim_start_lr) -- the harness owns one schedule
# for every method.
# The warm-up shape: ours is linear from 1e-3 x lr (mmengine LinearLR); the official warm-up form was not
# checked (unverified, docs/methods.md#slimclr).
_base_ = ['./cpu_tiny.py']
seed = 0
augmentation = 'mocov2'       # MoCo v2 aug+ (scripts/mocov2.sh: ssl_aug=mocov2)
budget = dict(
    epochs=200,
    batch_size=1024,
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4),
    schedule=dict(type='cosine', warmup_epochs=10),
    amp='fp16',               # the official script trains with AMP (torch.cuda.amp, float16)
    sync_bn=False,            # SyncBN belongs to the MoCo v3 variant only
    num_workers=8,            # not a paper setting: JPEG decoding at ImageNet scale needs workers
    log_interval=100,
    checkpoint_interval=10,
)
