# Oriented R-CNN R18 from its 4-epoch shapes checkpoint, pruned with
# group_norm to 2x fewer FLOPs before the first iteration (round_to=8),
# then finetuned for 1 epoch (200 iterations at batch 4) at the base's
# final rate, constant.
_base_ = '../../oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py'

load_from = 'work_dirs/oriented_rcnn_r18_shapes/epoch_4.pth'
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=4e-5))
param_scheduler = None
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
custom_hooks = [
    dict(type='mmprune.StructuredPruningHook', method='group_norm',
         speed_up=2.0, round_to=8)
]
