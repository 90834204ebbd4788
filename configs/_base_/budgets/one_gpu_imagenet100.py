# One-GPU budget for imagenet100_resnet18: the MoCo v2 recipe (facebookresearch/moco README: SGD lr 0.03 at
# batch 256, momentum 0.9, wd 1e-4, cosine) for 200 epochs, the length of lightly's ImageNet-100 benchmark
# (lightly docs, benchmarks: ResNet-18, one A6000, 200 epochs).
# GPU options stay off so the suite also runs on a CPU; on a GPU add
# --cfg-options budget.amp=bf16 budget.channels_last=True.
_base_ = ['./cpu_tiny.py']
budget = dict(
    epochs=200,
    batch_size=256,
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4),
    schedule=dict(type='cosine', warmup_epochs=0),
    num_workers=8,            # JPEG decoding: about 8 workers keep one GPU fed at 224 px
    log_interval=100,
    checkpoint_interval=10,
)
