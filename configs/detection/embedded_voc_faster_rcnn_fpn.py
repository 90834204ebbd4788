# Detection transfer on the embedded detection data (benchmarks/data/detection.py: 1-4 shapes per 128 px image,
# 200 train / 50 test images, VOC layout), the short schedule `make bench` runs for every student.
# A real fine-tune + evaluation sized for 2 CPU cores (about 40 s per student, 2/3 of it training): Faster R-CNN +
# FPN with the neck and heads slimmed to the students' scale (64-channel FPN, 256-d box head, 150 proposals and
# 64 sampled RoIs per image; the paper configs keep mmdet's 256 / 1024 / 1000 / 512), 200 iterations of batch 4
# (4 epochs), SGD lr 0.02 with gradient clipping at norm 10, warm-up 25 iterations, steps at 150/180.
# Measured on a CompRess ResNet-18 x0.125 student: 300 iterations 23.0 AP50 in 70 s, 200 iterations 16.2 AP50 in
# 34 s, 150 iterations 5.3; lr 0.04 diverged. The backbone section is generated from the student
# (benchmarks/evals/detection.py).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    './_embedded_voc_data_schedule.py',
]
model = dict(
    neck=dict(out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=64),
                  bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10)),  # len(classes)
    train_cfg=dict(rpn=dict(sampler=dict(num=128)), rpn_proposal=dict(nms_pre=1000, max_per_img=150),
                   rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=150)),
)
