# Synthetic shapes for semantic segmentation (128 px images and PNG label
# maps, 0 = background, objects 16-56 px, 5 classes), generated on first
# use under $MMPRUNE_DATA (default: data/): the data of the SegFormer
# shapes configs.
#
# Its sections are named shapes_* because a config lists this file beside
# a model-zoo config, and mmengine refuses two sibling bases that define the
# same key; the dataloaders carry _delete_=True, so a config takes them with
#   train_dataloader = _base_.shapes_train_dataloader
# and they replace the zoo's sections whole.
_base_ = './shapes_loaders.py'

shapes_classes = ('rectangle', 'ellipse', 'triangle', 'cross', 'star')
_dataset_type = 'mmprune.ShapesSegDataset'
_data_root = '{{$MMPRUNE_DATA:data}}/shapes_seg_128/'
_shapes = dict(
    img_size=128,
    min_object_size=16,
    max_object_size=56,
    classes=shapes_classes)
shapes_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
shapes_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
shapes_train_dataloader = dict(
    _base_.shapes_train_loader,
    batch_size=8,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'train/',
        shapes=dict(_shapes, num_images=1000, split='train', seed=0),
        pipeline=shapes_train_pipeline))
shapes_val_dataloader = dict(
    _base_.shapes_val_loader,
    batch_size=8,
    dataset=dict(
        type=_dataset_type,
        data_root=_data_root + 'val/',
        shapes=dict(_shapes, num_images=100, split='val', seed=0),
        pipeline=shapes_test_pipeline))
# merged into the zoo's evaluator (the same metric), not replacing it
shapes_val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
