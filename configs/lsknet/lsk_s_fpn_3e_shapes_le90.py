# lsk_s_fpn_1x_dota_le90 (LSKNet-S Oriented R-CNN, every published width
# kept: FPN 256, RoI fc 1024) trained from random init on synthetic shapes
# in DOTA format, 128 px images, 3 epochs (about 25 minutes on 2 CPU
# cores), so that it trains on CPU. The slimmed
# shapes configs in configs/pruning/lsknet/ inherit this one.
_base_ = ['./lsk_s_fpn_1x_dota_le90.py', '../_base_/datasets/shapes_dota.py']

classes = _base_.shapes_classes
model = dict(
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
    **_base_.shapes_two_stage_cfg)

# Data: the Oriented R-CNN baseline's split
# (../_base_/datasets/shapes_dota.py).
train_dataloader = _base_.shapes_train_dataloader
val_dataloader = _base_.shapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_val_evaluator
test_evaluator = val_evaluator

max_epochs = 3
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=3)
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
        milestones=[2],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
