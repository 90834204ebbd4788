# Feature regression (CompRess "Reg"; recipe after SimReg, research/methods.md §1.6, §3.4).
# Ablation switches (§7) with their defaults.
method = dict(
    type='reg',
    head='linear',               # 'linear' (D_s -> D_t) | 'mlp' (SimReg 4-layer d-2d-d-2d-D_t) | 'none' (only if D_s == D_t)
    teacher_feature='backbone',  # 'backbone' (pooled, CompRess/SimReg) | 'head' (the teacher's SSL projection)
    teacher_norm='l2',           # 'l2' | 'bn_l2' (non-affine BN, batch stats, then L2; reg_bn) | 'none' (raw)
    student_norm='l2',           # same choices, on the student prediction; both 'none' = plain MSE (SimReg --mse_nonorm)
)
