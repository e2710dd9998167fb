# RTMDet-tiny slimmed to about half the FLOPs by config (backbone widen
# factor 0.375 -> 0.25, neck/head width 96 -> 64), the weights inherited
# from the main job's checkpoint (the most important channels of every
# coupled group), then the same 2-epoch finetune as the sparsity configs.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

load_from = None  # the weights come from WeightInheritanceHook

width = 64
model = dict(
    backbone=dict(widen_factor=0.25),
    neck=dict(in_channels=[64, 128, 256], out_channels=width),
    bbox_head=dict(in_channels=width, feat_channels=width))

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='mmprune.WeightInheritanceHook',
        checkpoint='work_dirs/main_job/epoch_8.pth'),
]
