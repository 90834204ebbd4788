# CompRess (research/methods.md §1.1-1.5): K=128,000, tau=0.04 for teacher and student, alpha=0.999.
# Every value is the official code's; the ablation switches (§7) are listed with their defaults.
method = dict(
    type='compress_2q',
    bank_size=128000,            # K, anchors per bank (ablation: 256 ... 128,000)
    temperature=0.04,            # tau of the student softmax (and of the teacher's when teacher_temperature=None)
    teacher_temperature=None,    # tau_T; None = temperature (the official single tau)
    momentum=0.999,              # alpha of the EMA key encoder that writes the student bank
    teacher_feature='backbone',  # 'backbone' (pooled, official) | 'head' (the teacher's SSL projection)
    teacher_norm='l2',           # 'l2' (official) | 'bn_l2' (non-affine BN, batch stats, then L2) | 'none'
    student_bank='ema',          # 'ema' (2q) | 'current' (2q without momentum) | 'none' (1q: shared teacher bank)
    student_head='none',         # 'none' (loss on the backbone feature, official) | 'linear' | 'mlp' (D_s -> D_t)
    mlp_hidden=None,             # hidden width of student_head='mlp'; None = D_s
    bank_init='uniform',         # 'uniform' (official, not unit-norm) | 'normal' (random unit vectors)
)
