# The CompRess evaluation protocol (docs/methods.md#evaluation-protocols): linear probe with the CompRess
# head (L2 + train-set standardisation, SGD lr 0.01, 40 epochs, steps 15/30) on freshly augmented
# RRC+flip views every epoch, 1-NN majority vote ("NN"), and cluster alignment with 1000 k-means
# clusters (20 iterations). Inherits default.py for every other key.
#
# Deviations the harness cannot avoid: the final linear epoch is reported (CompRess tracks best_acc1,
# which of the two the paper reports is unverified, docs/methods.md#linear-probe); the 1-NN search is
# exact fp32 (the official eval_knn.py uses a fp16 faiss index). CA runs one k-means start (nredo=1), as
# the official script.
_base_ = ['./default.py']
evals = dict(
    # retrieval: the paper's CUB/Cars Recall@K numbers are unverified (docs/methods.md#retrieval), so no
    # target to compare;
    # detection: the AlexNet VOC recipe is unverified (docs/methods.md#detection-transfer) and not part of Table 1
    suites=['knn', 'linear', 'ca', 'flops', 'latency'],
    # majority_ks: 1 is the CompRess "NN" column; 20-NN and the 200-NN weighted vote come from the same
    # faiss search at no extra cost and are kept for later UMBC-style comparisons (docs/methods.md#knn)
    knn=dict(majority_ks=[1, 20], weighted_k=200, temperature=0.07, tie_break='nearest'),
    linear=dict(protocol='compress', epochs_scale=1.0, mode='augmented', recipe='compress'),
    ca=dict(num_clusters=1000, niter=20, nredo=1),
    flops=dict(sizes=[224]),
    # raw pixels at 224 px are 150,528-d: a kNN/linear floor over 1.28 M images would need ~770 GB
    raw_pixel_floor=False,
)
