# Evaluation protocol shared by every row of a leaderboard (benchmarks/evals/suite.py; `--suites` overrides
# the list). Train/val centre-view features are extracted once per student and shared by knn, linear,
# retrieval and ca.
evals = dict(
    suites=['knn', 'linear', 'retrieval', 'ca', 'flops', 'latency', 'detection'],
    knn=dict(majority_ks=[1, 20], weighted_k=200, temperature=0.07, tie_break='nearest'),
    # protocol 'compress' (CompRess eval_linear.py: L2 + train-set standardisation, SGD lr 0.01, 40 epochs,
    # steps 15/30) or 'moco' (lr 30, wd 0, 100 epochs, steps 60/80); epochs_scale scales epochs and steps;
    # mode 'cached' (features once, the fast path) or 'augmented' (fresh `recipe` views every epoch)
    linear=dict(protocol='compress', epochs_scale=1.0, mode='cached', recipe='compress'),
    # class-disjoint Recall@K: dataset 'val_split' (second half of the suite's val classes), or
    # 'cub200' / 'cars196' / 'imagefolder' with root=DIR (their original layouts; test classes only)
    retrieval=dict(dataset='val_split', root=None, ks=[1, 2, 4, 8], image_size=None),
    # CompRess cluster alignment; k = number of classes; faiss k-means restarted nredo times (lowest
    # inertia kept) because one start often merges classes when there are only a few
    ca=dict(num_clusters=None, niter=20, nredo=5),
    flops=dict(sizes=[224]),  # GMACs are reported at the suite's image size and at these sizes
    latency=dict(batch_sizes=[1, 64], max_time_s=2.0),
    # Faster R-CNN transfer with MMDetection, one subprocess per student (needs scripts/install_detection.sh).
    # data_root None: the embedded detection data (generated once, `embedded` = DetectionSpec fields) in the
    # `format` layout ('voc' or 'coco'); else a VOCdevkit / COCO folder matching `config`.
    # teacher=False: students only (about 45 s per network on 2 cores; the default suite leaves detection out)
    detection=dict(config='configs/detection/embedded_voc_faster_rcnn_fpn.py', data_root=None, format='voc',
                   embedded=dict(), trials=1, timeout_s=600, options=[], teacher=False),
    raw_pixel_floor=True,     # the floor row: every feature evaluation on raw pixels
    random_init_floor=True,   # the random-init row: the student architecture untrained, one per seed
    batch_size=256,
)
