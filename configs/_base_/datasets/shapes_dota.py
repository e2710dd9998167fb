# Synthetic shapes in DOTA format (rotated polygons in labelTxt, 128 px
# images, objects 20-64 px, 5 classes), generated on first use under
# $MMPRUNE_DATA (default: data/): the rotated-detection data of the
# Oriented R-CNN and LSKNet shapes configs.
#
# Its sections are named shapes_* because a config lists this file beside
# a model config, and mmengine refuses two sibling bases that define the
# same key; each section carries _delete_=True (the dataloaders from
# shapes_loaders.py), so a config takes it with
#   train_dataloader = _base_.shapes_train_dataloader
# and it replaces the model config's DOTA section whole.
_base_ = './shapes_loaders.py'

shapes_classes = ('rectangle', 'ellipse', 'triangle', 'cross', 'star')
_dataset_type = 'mmprune.ShapesDOTADataset'
_data_root = '{{$MMPRUNE_DATA:data}}/shapes_dota_128/'
_img_scale = (128, 128)
_shapes = dict(
    img_size=128,
    min_object_size=20,
    max_object_size=64,
    classes=shapes_classes)
shapes_train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=_img_scale, keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
shapes_test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=_img_scale, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
shapes_train_dataloader = dict(
    _base_.shapes_train_loader,
    batch_size=4,
    batch_sampler=None,
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'train/',
        shapes=dict(_shapes, num_images=800, split='train', seed=0),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=shapes_train_pipeline))
shapes_val_dataloader = dict(
    _base_.shapes_val_loader,
    batch_size=4,
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'val/',
        shapes=dict(_shapes, num_images=100, split='val', seed=0),
        test_mode=True,
        pipeline=shapes_test_pipeline))
shapes_val_evaluator = dict(_delete_=True, type='DOTAMetric', metric='mAP')
# Two-stage detectors on these small images: fewer proposals than DOTA's
# 1024 px tiles need; a config merges it into its model with
#   model = dict(..., **_base_.shapes_two_stage_cfg)
shapes_two_stage_cfg = dict(
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=500), rcnn=dict(max_per_img=100)))
