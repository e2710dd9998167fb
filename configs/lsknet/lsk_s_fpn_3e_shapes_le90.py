# lsk_s_fpn_1x_dota_le90 (LSKNet-S Oriented R-CNN, every published width
# kept: FPN 256, RoI fc 1024) trained from random init on synthetic shapes
# in DOTA format, 128 px images, 3 epochs (about 25 minutes on 2 CPU
# cores), so that it trains on CPU. The slimmed
# shapes configs in configs/pruning/lsknet/ inherit this one.
_base_ = './lsk_s_fpn_1x_dota_le90.py'

classes = ('rectangle', 'ellipse', 'triangle', 'cross', 'star')
model = dict(
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(max_per_img=100)))

# Data: synthetic shapes in DOTA format (rotated polygons in labelTxt),
# generated on first use under $MMPRUNE_DATA (default: data/); the same
# split as configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py.
# (Repeated rather than shared: the model must come from
# lsk_s_fpn_1x_dota_le90.py, and mmengine refuses a second base that
# defines the same dataloader keys.)
dataset_type = 'mmprune.ShapesDOTADataset'
data_root = '{{$MMPRUNE_DATA:data}}/shapes_dota_128/'
img_scale = (128, 128)
shapes = dict(img_size=128, min_object_size=20, max_object_size=64,
              classes=classes)
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
val_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type=dataset_type,
        data_root=data_root + 'train/',
        shapes=dict(shapes, num_images=800, split='train', seed=0),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root + 'val/',
        shapes=dict(shapes, num_images=100, split='val', seed=0),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='DOTAMetric', metric='mAP')
test_evaluator = val_evaluator

max_epochs = 3
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
         end=200),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[2], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1),
    logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
