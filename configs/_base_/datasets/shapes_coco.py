# Synthetic shapes in COCO format (256 px images, 5 classes), generated on
# first use under $MMPRUNE_DATA (default: data/): the detection data of the
# RTMDet and YOLOX shapes configs.
#
# Its sections are named shapes_* because a config lists this file beside
# a model-zoo config, and mmengine refuses two sibling bases that define the
# same key; each section carries _delete_=True (the dataloaders from
# shapes_loaders.py), so a config takes it with
#   train_dataloader = _base_.shapes_train_dataloader
# and it replaces the zoo's COCO section whole.
_base_ = './shapes_loaders.py'

shapes_classes = ('rectangle', 'ellipse', 'triangle', 'cross', 'star')
_dataset_type = 'mmprune.ShapesCocoDataset'
_data_root = '{{$MMPRUNE_DATA:data}}/shapes_coco_256/'
_img_scale = (256, 256)
shapes_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
shapes_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
shapes_train_dataloader = dict(
    _base_.shapes_train_loader,
    batch_size=8,
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'train/',
        shapes=dict(num_images=800, split='train', seed=0),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=shapes_train_pipeline))
shapes_val_dataloader = dict(
    _base_.shapes_val_loader,
    batch_size=8,
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'val/',
        shapes=dict(num_images=100, split='val', seed=0),
        test_mode=True,
        pipeline=shapes_test_pipeline))
shapes_val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=_data_root + 'val/annotation.json',
    metric='bbox')
