# RTMDet-tiny (mmdet model zoo), random init, on the synthetic shapes set:
# the detector baseline. 12 epochs take about 16 minutes on 2 CPU cores;
# tools/main_job.sh runs a shorter 8-epoch schedule of the same config.
_base_ = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    '../_base_/datasets/shapes_coco.py'
]
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)

model = dict(
    # random init: nothing is downloaded
    backbone=dict(init_cfg=None),
    bbox_head=dict(num_classes=5),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, max_per_img=100))

max_epochs = 12
base_lr = 0.004
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=4,
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
    dict(
        type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0,
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
    checkpoint=dict(interval=4, max_keep_ckpts=2), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=8)

# Data: the synthetic shapes set (../_base_/datasets/shapes_coco.py).
train_dataloader = _base_.shapes_train_dataloader
val_dataloader = _base_.shapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_val_evaluator
test_evaluator = val_evaluator
