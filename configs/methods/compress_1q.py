# CompRess with one queue (research/methods.md §1.1-1.5): K=128,000, tau=0.04 for teacher and student;
# the student is projected D_s -> D_t and compared with the teacher's anchors. Ablation switches (§7) with defaults.
method = dict(
    type='compress_1q',
    bank_size=128000,            # K, anchors in the (teacher) bank (ablation: 256 ... 128,000)
    temperature=0.04,            # tau of the student softmax (and of the teacher's when teacher_temperature=None)
    teacher_temperature=None,    # tau_T; None = temperature (the official single tau)
    momentum=0.999,              # alpha of the EMA key encoder; used only with student_bank='ema'
    teacher_feature='backbone',  # 'backbone' (pooled, official) | 'head' (the teacher's SSL projection)
    teacher_norm='l2',           # 'l2' (official) | 'bn_l2' (non-affine BN, batch stats, then L2) | 'none'
    student_bank='none',         # 'none' (1q, official here) | 'ema' | 'current' (a second, student bank)
    student_head='linear',       # 'linear' (official D_s -> D_t projection) | 'mlp' | 'none' (only if D_s == D_t)
    mlp_hidden=None,             # hidden width of student_head='mlp'; None = D_s
    bank_init='uniform',         # 'uniform' (official, not unit-norm) | 'normal' (random unit vectors)
)
