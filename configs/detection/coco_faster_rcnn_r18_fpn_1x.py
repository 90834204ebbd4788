# COCO transfer (docs/methods.md#detection-transfer): Faster R-CNN + FPN, 1x schedule (12 epochs, steps 8/11, SGD lr
# 0.02 for 16 images per batch, linear warm-up 500 iterations) on train2017, evaluated on val2017 (bbox AP,
# AP50, AP75). The dataset root (holding annotations/ train2017/ val2017/) is a required argument; the
# backbone section is generated from the student (benchmarks/evals/detection.py).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
auto_scale_lr = dict(enable=True, base_batch_size=16)
