# The embedded detection data in its COCO layout (annotations/instances_{train,val}.json, train/ val/), same
# model and schedule as embedded_voc_faster_rcnn_fpn.py; COCO-style evaluation (pycocotools: AP, AP50, AP75).
_base_ = ['./embedded_voc_faster_rcnn_fpn.py']
dataset = dict(_delete_=True, type='CocoDataset', data_root=None, metainfo=dict(classes={{_base_.classes}}))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoDataset', data_root=None, metainfo=dict(classes={{_base_.classes}}),
    ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline={{_base_.train_pipeline}}))
test_dataloader = dict(dataset=dict(
    _delete_=True, type='CocoDataset', data_root=None, metainfo=dict(classes={{_base_.classes}}),
    ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'), test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(_delete_=True, type='CocoMetric', ann_file='annotations/instances_val.json', metric='bbox',
                      format_only=False)
