# The teacher of imagenet100_resnet18: a ResNet-50 trained here with MoCo v2 on ImageNet-100 when no --teacher
# is given: the MoCo v2 recipe (facebookresearch/moco README: T = 0.2, m = 0.999, MLP head, batch 256, lr 0.03,
# wd 1e-4, cosine) for 400 epochs, with K = 16,384 negatives (the HobbitLong/CMC README's MoCo command for
# its ImageNet-100 subset, train_moco_ins.py --nce_k 16384; 65,536 would be half of the 126,689 training images). Or --teacher FILE.
_base_ = ['./moco_v2_r50_imagenet.py']
teacher = dict(train=dict(method_cfg=dict(queue_size=16384, temperature=0.2), epochs=400))
