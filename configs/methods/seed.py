# SEED (research/methods.md §2): K=65,536, tau_S=0.2, tau_T=1e-4 (official code), teacher projection head.
# Every value is the official code's; the ablation switches (§7) are listed with their defaults.
method = dict(
    type='seed',
    queue_size=65536,            # K, teacher embeddings in the queue
    student_temperature=0.2,     # tau_S
    teacher_temperature=1e-4,    # tau_T (official code default; the paper's value is unverified)
    teacher_feature='head',      # 'head' (the teacher's SSL projection, official) | 'backbone' (pooled)
    teacher_norm='l2',           # 'l2' (official) | 'bn_l2' (non-affine BN, batch stats, then L2) | 'none'
    student_head='mlp',          # 'mlp' (official Linear(d,h)-ReLU-Linear(h,D_t)) | 'linear' | 'none' (only if d == D_t)
    mlp_hidden=None,             # h of the student MLP; None = the student's feature dim d (official); 2048 = variant
)
