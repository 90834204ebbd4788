# MoCo v2 (research/methods.md §5.2): K=65,536, T=0.2, m=0.999, 2-layer MLP head to 128-d.
method = dict(type='moco_v2', queue_size=65536, dim=128, temperature=0.2, momentum=0.999,
              mlp_hidden=None, shuffle_bn_splits=1)
