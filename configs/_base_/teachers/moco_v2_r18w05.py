# The teacher: a checkpoint (--teacher PATH) or, when none is given, a MoCo v2 model trained once on
# the suite's data and cached under $SSLCB_CACHE/teachers/<key of this section + data + seed>.
teacher = dict(
    checkpoint=None,
    arch=dict(arch='resnet18', width=0.5, small_input=False),
    train=dict(
        method='moco_v2',
        method_cfg=dict(queue_size=2048),
        epochs=50,
        batch_size=64,
        optimizer=dict(type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4),
        schedule=dict(type='cosine', warmup_epochs=0),
        num_workers=0,
        log_interval=10,
        checkpoint_interval=10,
    ),
)
