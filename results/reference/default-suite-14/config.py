augmentation = None
budget = dict(
    amp=None,
    batch_size=64,
    channels_last=False,
    checkpoint_interval=1,
    epochs=10,
    log_interval=10,
    num_workers=0,
    optimizer=dict(lr=0.015, momentum=0.9, type='SGD', weight_decay=0.0005),
    schedule=dict(type='cosine', warmup_epochs=0),
    sync_bn=False,
    views_per_image=None)
data = dict(
    image_size=64,
    num_classes=10,
    on_corrupt='fail',
    root=None,
    seed=0,
    train_per_class=500,
    type='embedded',
    val_per_class=100,
    verify_images='header')
device = 'auto'
evals = dict(
    batch_size=256,
    ca=dict(niter=20, nredo=5, num_clusters=None),
    detection=dict(
        config='configs/detection/embedded_voc_faster_rcnn_fpn.py',
        data_root=None,
        embedded=dict(),
        format='voc',
        options=[],
        teacher=False,
        timeout_s=600,
        trials=1),
    flops=dict(sizes=[
        224,
    ]),
    knn=dict(
        majority_ks=[
            1,
            20,
        ],
        temperature=0.07,
        tie_break='nearest',
        weighted_k=200),
    latency=dict(batch_sizes=[
        1,
        64,
    ], max_time_s=2.0),
    linear=dict(
        epochs_scale=1.0,
        mode='cached',
        protocol='compress',
        recipe='compress'),
    random_init_floor=True,
    raw_pixel_floor=True,
    retrieval=dict(
        dataset='val_split', image_size=None, ks=[
            1,
            2,
            4,
            8,
        ], root=None),
    suites=[
        'knn',
        'linear',
        'retrieval',
        'ca',
        'flops',
        'latency',
        'detection',
    ])
method_cfgs = dict(
    disco=dict(
        distill_weight=32.0,
        mlp_hidden=2048,
        momentum=0.99,
        queue_size=2048,
        shuffle_bn_splits=1,
        teacher_feature='head',
        temperature=0.2,
        type='disco'),
    moco_v2=dict(
        dim=128,
        mlp_hidden=None,
        momentum=0.99,
        queue_size=2048,
        shuffle_bn_splits=1,
        temperature=0.2,
        type='moco_v2'),
    moco_v2_small=dict(
        dim=128,
        mlp_hidden=None,
        mlp_hidden_mult=2,
        momentum=0.99,
        queue_size=2048,
        shuffle_bn_splits=1,
        temperature=0.1,
        type='moco_v2_small'),
    supervised=dict(label_smoothing=0.0, type='supervised'))
methods = [
    'moco_v2',
    'moco_v2_small',
    'disco',
    'supervised',
]
seed = 0
seeds = [
    0,
    1,
    2,
]
student = dict(arch='resnet18', small_input=False, width=0.125)
suite = 'default'
teacher = dict(
    allow_globals=[],
    arch=dict(arch='resnet18', small_input=False, width=0.5),
    checkpoint=None,
    checkpoint_arch=dict(arch=None, small_input=False, width=1.0),
    description='',
    output_dtype='float16',
    required=False,
    share_outputs=True,
    share_storage='memory',
    spec=None,
    train=dict(
        batch_size=64,
        checkpoint_interval=2,
        epochs=50,
        log_interval=10,
        method='moco_v2',
        method_cfg=dict(queue_size=2048),
        num_workers=0,
        optimizer=dict(
            lr=0.015, momentum=0.9, type='SGD', weight_decay=0.0005),
        schedule=dict(type='cosine', warmup_epochs=0)))
