# PASCAL VOC transfer (docs/methods.md#detection-transfer): Faster R-CNN + FPN fine-tuned on VOC07+12 trainval,
# evaluated on VOC07 test; AP50 (the VOC metric, 11-point as for VOC2007), AP (mean over IoU 0.50:0.95)
# and AP75 as MoCo reports them.
#   python tools/evaluate.py --suites detection --det-config configs/detection/voc0712_faster_rcnn_r18_fpn.py \
#       --det-data-root /data/VOCdevkit --backbone results/<run>/<method>/backbone.pth
# The dataset root (the folder holding VOC2007/ and VOC2012/) is a required argument; the backbone section
# is generated from the student (benchmarks/evals/detection.py), "r18" is only the usual student.
# Schedule: mmdet's pascal_voc/faster-rcnn_r50_fpn_1x_voc0712 (4 epochs over 3x-repeated 07+12 = 12 epochs,
# SGD lr 0.01 for 8 GPUs x 2 images, step at epoch 3). Deviation from MoCo's protocol: MoCo fine-tunes an
# R50-C4 detector in detectron2 for 24k iterations with SyncBN; this is mmdet's FPN detector with frozen BN
# statistics (norm_eval) — the SlimCLR paper's choice of framework. Papers report the mean of 5 trials:
# pass --det-trials 5.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=True, base_batch_size=16)
# AP over IoU 0.50:0.95 in steps of 0.05 (AP50 and AP75 are two of them)
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator
