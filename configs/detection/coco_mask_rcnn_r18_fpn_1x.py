# COCO instance segmentation transfer (SlimCLR's protocol, docs/methods.md#detection-transfer): Mask R-CNN + FPN 1x
# (12 epochs, steps 8/11) on train2017, evaluated on val2017; the leaderboard reports the bbox AP/AP50/AP75
# (the mask AP is in detection.json). Dataset root required; backbone generated from the student.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
auto_scale_lr = dict(enable=True, base_batch_size=16)
