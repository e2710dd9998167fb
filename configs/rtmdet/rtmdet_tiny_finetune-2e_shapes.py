# A 2-epoch (200-iteration) finetune of the main job's RTMDet-tiny
# (bash tools/main_job.sh) at a tenth of the baseline's peak rate, without
# warm-up or decay: the schedule of the sparsity and slimming finetunes,
# and on its own their control.
_base_ = './rtmdet_tiny_12e_shapes.py'

load_from = 'work_dirs/main_job/epoch_8.pth'
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=4e-4))
param_scheduler = None
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
