# SegFormer-b0 from its 2k-iteration shapes checkpoint, pruned with
# group_norm to 2x fewer FLOPs before the first iteration (round_to=8),
# then finetuned for 500 iterations at a tenth of the base's peak rate,
# constant.
_base_ = '../../segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py'

load_from = 'work_dirs/segformer_b0_shapes/iter_2000.pth'
max_iters = 500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = None
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [
    dict(type='mmprune.StructuredPruningHook', method='group_norm',
         speed_up=2.0, round_to=8)
]
