# Feature regression (CompRess "Reg"; recipe after SimReg, research/methods.md §1.6, §3.4).
method = dict(type='reg', head='linear', teacher_feature='backbone')
