# RTMDet-tiny (mmdet model zoo), random init, on the synthetic shapes set:
# the detector baseline. 12 epochs take about 16 minutes on 2 CPU cores;
# tools/main_job.sh runs a shorter 8-epoch schedule of the same config.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

model = dict(
    # random init: nothing is downloaded
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=5),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, max_per_img=100))

max_epochs = 12
base_lr = 0.004
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4,
    dynamic_intervals=None)
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49)
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0,
         end=200),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(
    checkpoint=dict(interval=4, max_keep_ckpts=2),
    logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=8)

# Data: synthetic shapes in COCO format, generated on first use under
# $MMPRUNE_DATA (default: data/). The base's mosaic pipelines (and the hook
# that switches them) are for COCO at 640 and are replaced.
dataset_type = 'mmprune.ShapesCocoDataset'
data_root = '{{$MMPRUNE_DATA:data}}/shapes_coco_256/'
img_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root + 'train/',
        shapes=dict(num_images=800, split='train', seed=0),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root + 'val/',
        shapes=dict(num_images=100, split='val', seed=0),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'val/annotation.json',
    metric='bbox')
test_evaluator = val_evaluator
