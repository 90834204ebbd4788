# CRD (research/methods.md §5.1; official RepDistiller defaults): 128-d linear embeds on both sides,
# K=16,384 uniform negatives from per-sample memories (momentum 0.5), T=0.07, beta=0.8 on the CRD term.
method = dict(type='crd', embed_dim=128, num_negatives=16384, temperature=0.07, memory_momentum=0.5,
              teacher_feature='backbone', loss_weight=0.8)
