# Detection transfer on the embedded detection data with the C4 head (MoCo's detector family,
# docs/methods.md#detection-transfer): Faster R-CNN whose backbone is the student's stages 1-3 and whose RoI
# head runs the student's fourth stage on every 14x14 RoI (benchmarks/evals/detection.py generates both, and
# the RPN / RoI extractor / box head input channels, from the student; ResNet students only). Data, schedule
# and slimmed RPN/RoI sampling are those of embedded_voc_faster_rcnn_fpn.py (200 iterations of batch 4, SGD
# lr 0.02, clip 10, warm-up 25, steps 150/180; 150 proposals and 64 sampled RoIs per image), so the two
# heads are compared on equal terms.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    './_embedded_voc_data_schedule.py',
]
detection_head = 'c4'
model = dict(
    # mmdet's C4 base model expects caffe (BGR, mean-only) inputs; our students were trained on RGB images
    # normalised with the ImageNet mean/std, so feed them that (as mmdet's pytorch-style FPN configs do).
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    rpn_head=dict(feat_channels=64),
    roi_head=dict(bbox_head=dict(num_classes=10)),  # len(classes)
    train_cfg=dict(rpn=dict(sampler=dict(num=128)), rpn_proposal=dict(nms_pre=1000, max_per_img=150),
                   rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=150)),
)
