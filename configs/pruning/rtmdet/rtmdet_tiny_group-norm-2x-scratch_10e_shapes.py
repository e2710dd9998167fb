# The honest baseline for pruning: the 2x-pruned RTMDet-tiny architecture
# (the widths of rtmdet_tiny_group-norm-2x_2e_shapes.py) trained from
# scratch with the whole budget of prune-and-finetune, the baseline's 8
# epochs plus the finetune's 2, on the baseline's schedule (warm-up,
# cosine decay over the second half). Make its randomly initialised
# checkpoint first:
#   python tools/prune.py configs/rtmdet/rtmdet_tiny_12e_shapes.py \
#       work_dirs/main_job/epoch_8.pth --method group_norm --speed-up 2 \
#       --random-init --out work_dirs/rtmdet_tiny_group-norm-2x_scratch_init
_base_ = '../../rtmdet/rtmdet_tiny_12e_shapes.py'

load_from = 'work_dirs/rtmdet_tiny_group-norm-2x_scratch_init/pruned.pth'
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0,
        end=200),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.004 * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2))
# rebuilds the pruned structure from load_from, prunes nothing more
custom_hooks = _base_.custom_hooks + [
    dict(type='mmprune.StructuredPruningHook')
]
