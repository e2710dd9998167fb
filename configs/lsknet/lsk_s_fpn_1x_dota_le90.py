# Oriented R-CNN with an LSKNet-S backbone on DOTA-v1.0 (angle version le90),
# as published with LSKNet (ICCV 2023): AdamW 2e-4 at 2 images per GPU,
# weight decay 0.05, 12 epochs with steps at 8 and 11, 500 warmup iterations,
# grad clip 35, 1024x1024 split crops, flips (h/v/diagonal) and rotation.
# The detector parts come from mmrotate's Oriented R-CNN config.
_base_ = 'mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py'
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmprune.LSKNet',
        embed_dims=[64, 128, 320, 512],
        mlp_ratios=[8, 8, 4, 4],
        depths=[2, 2, 4, 2],
        lsk_split_dims=None,  # None: dim // 2 in every stage, as published
        drop_rate=0.1,
        drop_path_rate=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        # The published run starts from ImageNet weights; point this at a
        # local copy (nothing is downloaded):
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='data/pretrained/lsk_s_backbone.pth.tar')
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    # bridge (9) and roundabout (11) are rotated as rectangles
    dict(
        type='RandomRotate',
        prob=0.5,
        angle_range=180,
        rect_obj_labels=[9, 11]),
    dict(
        type='mmdet.Pad', size=(1024, 1024),
        pad_val=dict(img=(114, 114, 114))),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.0002, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
