# The honest baseline for pruning Oriented R-CNN R18: the 2x-pruned
# architecture (the widths of
# oriented-rcnn-le90_r18_fpn_group-norm-2x_1e_shapes.py) trained from
# scratch with the whole budget of prune-and-finetune, the
# baseline's 4 epochs plus the finetune's 1, on the baseline's schedule
# (warm-up, step down for the last epoch). Make its randomly initialised
# checkpoint first:
#   python tools/prune.py \
#       configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py \
#       work_dirs/oriented_rcnn_r18_shapes/epoch_4.pth --method group_norm \
#       --speed-up 2 --random-init \
#       --out work_dirs/oriented_rcnn_r18_group-norm-2x_scratch_init
_base_ = '../../oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py'

load_from = 'work_dirs/oriented_rcnn_r18_group-norm-2x_scratch_init/pruned.pth'
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
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
        milestones=[4],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
# rebuilds the pruned structure from load_from, prunes nothing more
custom_hooks = [dict(type='mmprune.StructuredPruningHook')]
