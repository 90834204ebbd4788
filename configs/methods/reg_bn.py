# Feature regression with BatchNorm on the features (CompRess "Reg-BN"; research/methods.md §1.6).
method = dict(type='reg_bn', head='linear', teacher_feature='backbone')
