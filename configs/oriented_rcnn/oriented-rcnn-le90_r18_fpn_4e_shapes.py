# Oriented R-CNN (mmrotate model zoo) with a light ResNet-18 FPN, random
# init, on synthetic shapes in DOTA format: the rotated-detection baseline.
# 4 epochs (step at 3) take about 12 minutes on 2 CPU cores.
_base_ = [
    'mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py',
    '../_base_/datasets/shapes_dota.py'
]
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)

classes = _base_.shapes_classes
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_eval=False,  # random init: BN statistics must be learnt
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(
            in_channels=128, fc_out_channels=512, num_classes=len(classes))),
    **_base_.shapes_two_stage_cfg)

# Data: DOTA-format shapes at 128 px (../_base_/datasets/shapes_dota.py).
train_dataloader = _base_.shapes_train_dataloader
val_dataloader = _base_.shapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_val_evaluator
test_evaluator = val_evaluator

max_epochs = 4
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0 / 3,
        by_epoch=False,
        begin=0,
        end=200),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[3],
        gamma=0.1)
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(
    checkpoint=dict(interval=2, max_keep_ckpts=2), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
