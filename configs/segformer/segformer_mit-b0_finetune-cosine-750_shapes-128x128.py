# The finetune of the SegFormer converged benchmark: 750 iterations (1/8 of
# the 6000-iteration baseline) from the last checkpoint of
# segformer_mit-b0_8xb8-6k_shapes-128x128.py. The rate rises over 50
# iterations from a tenth to `lr` (the baseline's peak), then falls along
# a cosine to zero: the schedule tools/prune.py writes into its finetune
# configs. On its own, the unpruned control.
_base_ = './segformer_mit-b0_8xb8-6k_shapes-128x128.py'

load_from = 'work_dirs/converged_segformer/baseline/iter_6000.pth'
iters = 750
warmup = 50
lr = 2e-3
train_cfg = dict(max_iters=iters, val_interval=iters)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
        end=warmup),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=iters,
        T_max=iters)
]
default_hooks = dict(checkpoint=dict(interval=iters, max_keep_ckpts=1))
