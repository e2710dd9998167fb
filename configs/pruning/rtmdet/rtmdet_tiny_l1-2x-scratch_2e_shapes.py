# For comparison with rtmdet_tiny_l1-2x_2e_shapes.py: the same pruned
# architecture trained from scratch with the same budget (200 iterations),
# at the baseline's learning rate after a 50-iteration warm-up. Make its
# randomly initialised checkpoint first:
#   python tools/prune.py configs/rtmdet/rtmdet_tiny_12e_shapes.py \
#       work_dirs/main_job/epoch_8.pth --method l1 --speed-up 2 \
#       --random-init --out work_dirs/rtmdet_tiny_l1-2x_scratch_init
_base_ = '../../rtmdet/rtmdet_tiny_12e_shapes.py'

load_from = 'work_dirs/rtmdet_tiny_l1-2x_scratch_init/pruned.pth'
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=50)
]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
# rebuilds the pruned structure from load_from, prunes nothing more
custom_hooks = _base_.custom_hooks + [
    dict(type='mmprune.StructuredPruningHook')
]
