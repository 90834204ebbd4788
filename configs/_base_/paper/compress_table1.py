# CompRess Table 1 (Abbasi Koohpayegani, Tejankar, Pirsiavash, NeurIPS 2020; UMBCvision/CompRess), the
# part shared by its three MoCo v2 R-50 -> {AlexNet, ResNet-18, MobileNet-V2} blocks: the methods, their
# hyperparameters, and the paper metadata. Each configs/suites/paper_compress_<student>.py adds the
# student and that block's published numbers.
methods = ['cc', 'crd', 'reg', 'reg_bn', 'compress_2q', 'compress_1q']

# Values written out although most equal the methods' defaults: this file is the reproduction record.
method_cfgs = dict(
    # train_student.py defaults: K = 128,000 anchors, tau = 0.04 for teacher and student, EMA alpha =
    # 0.999 (2q), loss on the teacher's pooled 2048-d backbone feature (get_teacher_model)
    compress_2q=dict(bank_size=128000, temperature=0.04, teacher_temperature=None, momentum=0.999,
                     teacher_feature='backbone', student_bank='ema', student_head='none', bank_init='uniform'),
    # 1q: a trainable Linear(D_s, 2048) student projection, the teacher's bank only (train_student_one_queue.py)
    compress_1q=dict(bank_size=128000, temperature=0.04, teacher_temperature=None,
                     teacher_feature='backbone', student_bank='none', student_head='linear', bank_init='uniform'),
    # CC (docs/methods.md#cc): k-means on L2-normalised teacher features. The paper's k is unverified:
    # 16,000 matches eval_knn.py's 16k-class CC AlexNet and ClusterFit's best (kmeans.py's own default
    # is 2000).
    # Not expressible here: the CC classifier's own recipe (train_kmeans.py: lr 0.1 nesterov, 90 epochs,
    # steps 30/60/80, no wd on BN) -- the harness trains every method under the suite's one budget.
    cc=dict(num_clusters=16000, kmeans_iters=20, teacher_feature='backbone'),
    # CRD adapted to SSL (the paper's adaptation is unverified, docs/methods.md#crd): the original
    # RepDistiller defaults (train_student.py) with uniform instance negatives instead of class-based sampling.
    crd=dict(embed_dim=128, num_negatives=16384, temperature=0.07, memory_momentum=0.5,
             teacher_feature='backbone', loss_weight=0.8),
    # Reg / Reg-BN (docs/methods.md#reg): the paper's projection/normalisation details are unverified;
    # linear head to the teacher's 2048-d feature, L2 (Reg) or non-affine BN then L2 (Reg-BN) on both sides.
    reg=dict(head='linear', teacher_feature='backbone', teacher_norm='l2', student_norm='l2'),
    reg_bn=dict(head='linear', teacher_feature='backbone', teacher_norm='bn_l2', student_norm='bn_l2'),
)

paper = dict(
    title='CompRess: Self-Supervised Learning by Compressing Representations (Abbasi Koohpayegani, '
          'Tejankar, Pirsiavash, NeurIPS 2020), Table 1 (project-page image result_table1.png)',
    source='CompRess paper Table 1; official UMBCvision/CompRess project page result_table1.png',
    protocol='ImageNet-1k top-1 (%): Linear = CompRess linear probe (L2 + train-set standardisation, SGD lr 0.01, '
             '40 epochs, steps 15/30; CompRess eval_linear.py), NN = 1-NN majority vote on centre-crop features, CA = cluster '
             'alignment (k-means with 1000 clusters on train, Hungarian matching, val accuracy); teacher '
             'MoCo v2 ResNet-50 (the 800-ep checkpoint, inferred, unverified)',
    gpu_hours=dict(
        student='not reported by the paper',
        teacher='not reported for the 800-ep model (MoCo v2 R-50 200 ep: 53 h on 8 V100, '
                'facebookresearch/moco README)',
    ),
)
