"""Detection fine-tunes at test size (used with the det_data fixture of tests/conftest.py)."""

# a couple of iterations: the point is that training and evaluation really run end to end
TINY = ['max_iters=2', 'train_cfg.max_iters=2', 'param_scheduler.0.end=1', 'param_scheduler.1.end=2',
        'param_scheduler.1.milestones=[1]', 'train_dataloader.batch_size=2']
