# PASCAL VOC transfer with MoCo's detection protocol (docs/methods.md#detection-transfer; MoCo repo
# detection/configs/pascal_voc_R_50_C4_24k_moco.yaml on Base-RCNN-C4-BN.yaml): Faster R-CNN R50-C4 — the
# student's stages 1-3 as the backbone, its fourth stage as the RoI head run on every 14x14 RoI — fine-tuned
# on VOC07+12 trainval, evaluated on VOC07 test: AP50 (11-point VOC2007 metric), AP (mean over IoU
# 0.50:0.95) and AP75, as MoCo reports them; papers report the mean of 5 trials (--det-trials 5).
#   python tools/evaluate.py --suites detection --det-config configs/detection/voc0712_faster_rcnn_r50_c4.py \
#       --det-data-root /data/VOCdevkit --backbone results/<run>/<method>/backbone.pth
# ResNet students only ("r50" is MoCo's network; any ResNet-18/34/50 width works, DisCo runs R-18/34 this way).
# The backbone, the shared head and the RPN / RoI extractor / box head input channels are generated from the
# student (benchmarks/evals/detection.py).
#
# MoCo's detectron2 run: 24k iterations of 16 images (8 GPUs x 2), SGD lr 0.02 momentum 0.9 wd 1e-4, linear
# warm-up 100 iterations, lr x0.1 at 18k and 22k, train min size (480..800 step 32, max 1333), test 800, all
# stages fine-tuned (FREEZE_AT 0), SyncBN in backbone and head. Here: the same numbers with mmdet's
# iteration-based loop. auto_scale_lr scales lr 0.02 by (GPUs x batch_size) / 16: with mmdet's 2 images per
# GPU on one GPU that is lr 0.0025 over 1/8 of MoCo's images; pass train_dataloader.batch_size=16 (one large
# GPU) to see MoCo's batch with lr 0.02.
# Deviations: BN statistics are frozen (norm_eval=True, affine parameters trained) instead of SyncBN over
# the 16-image batch (a single process sees 2 images; --cfg-options model.backbone.norm_eval=False
# model.roi_head.shared_head.norm_eval=False trains them); no extra BN after res5 (detectron2's
# Res5ROIHeadsExtraNorm) and no precise-BN at test; mmdet's RPN/RoI sampling settings of its C4 model.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
]
detection_head = 'c4'
model = dict(
    # mmdet's C4 base model expects caffe (BGR, mean-only) inputs; our students were trained on RGB images
    # normalised with the ImageNet mean/std (MoCo's PIXEL_MEAN/STD, INPUT.FORMAT RGB), so feed them that.
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    roi_head=dict(bbox_head=dict(num_classes=20)),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', keep_ratio=True,
         scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640), (1333, 672),
                 (1333, 704), (1333, 736), (1333, 768), (1333, 800)]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
voc_trainval = [
    dict(type='VOCDataset', data_root='data/VOCdevkit/', ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root=f'VOC{year}/'), filter_cfg=dict(filter_empty_gt=True, min_size=32,
                                                                        bbox_min_size=32),
         pipeline=train_pipeline)
    for year in (2007, 2012)
]
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(dataset=dict(datasets=voc_trainval)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# AP over IoU 0.50:0.95 in steps of 0.05 (AP50 and AP75 are two of them)
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator

max_iters = 24000
# no validation pass during training: the evaluation is the test pass after it (benchmarks/evals/detection.py)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[18000, 22000], gamma=0.1),
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=True, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=1))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
