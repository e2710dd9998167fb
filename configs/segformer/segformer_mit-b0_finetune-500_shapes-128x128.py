# A 500-iteration finetune of the 2k-iteration SegFormer-b0 shapes baseline
# (segformer_mit-b0_8xb8-2k_shapes-128x128.py) at a tenth of its peak rate,
# constant: the schedule of the SegFormer pruning finetunes, and on its own
# their control (the same finetune without pruning).
_base_ = './segformer_mit-b0_8xb8-2k_shapes-128x128.py'

load_from = 'work_dirs/segformer_b0_shapes/iter_2000.pth'
max_iters = 500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = None
default_hooks = dict(checkpoint=dict(interval=max_iters))
