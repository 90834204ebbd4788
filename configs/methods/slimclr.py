# SlimCLR-MoCo v2 (research/methods.md §4, official scripts/mocov2.sh): slimmable ResNet with switchable BN,
# widths [1.0, 0.75, 0.5, 0.25] (the smallest width = the suite's student unless full_width is set);
# MoCo v2 at full width: K=65,536, T=0.2, m=0.999, dim 128; online distillation to each sub-network with
# weight a=0.5, KD temperatures 5.0/5.0 on raw cosines; full-width loss weight 2.5 (--slim_loss_weighted 5);
# sub-networks join after half of training (slim_start_epoch 100 of 200). slim_start_lr is not reproduced.
method = dict(type='slimclr', widths=[1.0, 0.75, 0.5, 0.25], full_width=None, queue_size=65536, dim=128,
              temperature=0.2, momentum=0.999, aux_loss_weight=0.5, student_temperature=5.0,
              teacher_temperature=5.0, reweight=True, slow_start=0.5)
