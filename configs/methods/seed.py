# SEED (research/methods.md §2): K=65,536, tau_S=0.2, tau_T=1e-4 (official code), teacher projection head.
method = dict(type='seed', queue_size=65536, student_temperature=0.2, teacher_temperature=1e-4,
              teacher_feature='head', mlp_hidden=None)
