# Feature regression with BatchNorm on the features (CompRess "Reg-BN"; research/methods.md §1.6).
# Ablation switches (§7) with their defaults.
method = dict(
    type='reg_bn',
    head='linear',               # 'linear' (D_s -> D_t) | 'mlp' (SimReg 4-layer d-2d-d-2d-D_t) | 'none' (only if D_s == D_t)
    teacher_feature='backbone',  # 'backbone' (pooled, CompRess/SimReg) | 'head' (the teacher's SSL projection)
    teacher_norm='bn_l2',        # 'bn_l2' (non-affine BN, batch stats in training, then L2) | 'l2' | 'none'
    student_norm='bn_l2',        # same choices, on the student prediction (Reg-BN normalises both sides)
)
