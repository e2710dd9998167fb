# The honest baseline for pruning SegFormer-b0: the 2x-pruned architecture
# (the widths of segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py)
# trained from scratch with the whole budget of prune-and-finetune, the
# baseline's 2000 iterations plus the finetune's 500, on the baseline's
# schedule (warm-up, poly decay). Make its randomly initialised checkpoint
# first:
#   python tools/prune.py \
#       configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py \
#       work_dirs/segformer_b0_shapes/iter_2000.pth --method group_norm \
#       --speed-up 2 --random-init \
#       --out work_dirs/segformer_b0_group-norm-2x_scratch_init
_base_ = '../../segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py'

load_from = 'work_dirs/segformer_b0_group-norm-2x_scratch_init/pruned.pth'
max_iters = 2500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=100,
        end=max_iters,
        by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
# rebuilds the pruned structure from load_from, prunes nothing more
custom_hooks = [dict(type='mmprune.StructuredPruningHook')]
