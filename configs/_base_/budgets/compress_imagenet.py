# The CompRess student budget, exactly as the official train_student.py defaults
# (UMBCvision/CompRess): 130 epochs, batch 256, SGD lr 0.01 momentum 0.9 wd 1e-4, lr x0.2 after epochs 90 and 120,
# fp32. Inherits cpu_tiny.py so budget keys added there later (with their defaults) stay present.
_base_ = ['./cpu_tiny.py']
seed = 0
augmentation = 'compress'     # RRC(224, scale 0.08-1) + flip, no colour jitter/blur (train_student.py), all methods
budget = dict(
    epochs=130,
    batch_size=256,
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    # official: lr drops when the 1-based epoch is > 90 / > 120, i.e. from 0-based epochs 90 and 120,
    # which is what MultiStepLR(milestones=[90, 120]) stepped per epoch does
    schedule=dict(type='step', warmup_epochs=0, milestones=[90, 120], gamma=0.2),
    amp=None,                 # the official code trains in fp32 (nn.DataParallel, no autocast)
    sync_bn=False,            # nn.DataParallel: BN statistics per GPU replica, never synchronised
    # not a paper setting: decoding 1.28 M JPEGs per epoch needs loader workers (the official
    # scripts use a DataLoader with workers too); 0 would starve the GPU
    num_workers=8,
    log_interval=100,
    checkpoint_interval=2,    # the official save_freq
)
