# The embedded detection data (benchmarks/data/detection.py, VOC layout) with the short CPU schedule shared by the
# embedded FPN and C4 configs: everything but the model. 200 iterations of batch 4 (4 epochs over 200 images),
# SGD lr 0.02 with gradient clipping at norm 10, warm-up 25 iterations, steps at 150/180; VOC metric over IoU
# 0.50:0.95 (AP50, AP, AP75). No `model` here: mmengine refuses a key defined in two `_base_` files.
_base_ = ['mmdet::_base_/default_runtime.py']
classes = ('circle', 'square', 'triangle', 'star', 'cross', 'ring', 'crescent', 'semicircle', 'arrow', 'tee')
image_scale = (128, 128)
max_iters = 200

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
dataset = dict(type='VOCDataset', data_root=None, metainfo=dict(classes=classes),
               data_prefix=dict(sub_data_root='VOC2007/'))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, ann_file='VOC2007/ImageSets/Main/trainval.txt',
                 filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, ann_file='VOC2007/ImageSets/Main/test.txt', test_mode=True, pipeline=test_pipeline))
test_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                      iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
val_dataloader = None
val_evaluator = None
val_cfg = None
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=25),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[150, 180], gamma=0.1),
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=10))
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook', interval=max_iters + 1, save_last=False))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
