# The DisCo / BINGO student budget on ImageNet-1k (haohang96/bingo main_moco.py flags and scripts/SR18-TR50W2.sh;
# Yuting-Gao/DisCo-pytorch main.py and Reproduction.md): 200 epochs, batch 256 (8 GPUs x 32), SGD momentum 0.9,
# lr 0.03, weight decay 1e-4, cosine per epoch, no warm-up. SEED's own runs differ (its R-50x2 row: 800 epochs
# with extra small-patch crops); a suite has one budget, so SEED trains 200 epochs here.
_base_ = ['./cpu_tiny.py']
seed = 0
augmentation = 'mocov2'       # the MoCo v2 aug+ recipe of all three official codes
budget = dict(
    epochs=200,
    batch_size=256,
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
    schedule=dict(type='cosine', warmup_epochs=0),
    amp='fp16',
    sync_bn=False,
    num_workers=8,            # not a paper setting: JPEG decoding at ImageNet scale needs workers
    log_interval=100,
    checkpoint_interval=10,
)
