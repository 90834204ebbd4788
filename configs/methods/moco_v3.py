# MoCo v3 for ResNets (research/methods.md §5.3): T=1.0, m=0.99 with the cosine ramp to 1, dim 256.
# Official R-50 head width is mlp_hidden=4096 (= 2 x 2048 features); None here means 2 x the student's
# feature dimension, the same ratio for small students.
method = dict(type='moco_v3', dim=256, mlp_hidden=None, temperature=1.0, momentum=0.99, momentum_cos=True)
