# A 1-epoch finetune (200 iterations at batch 4) of the 4-epoch Oriented
# R-CNN R18 shapes baseline (oriented-rcnn-le90_r18_fpn_4e_shapes.py) at
# its final rate, constant: the schedule of the Oriented R-CNN pruning
# finetunes, and on its own their control (the same finetune without
# pruning).
_base_ = './oriented-rcnn-le90_r18_fpn_4e_shapes.py'

load_from = 'work_dirs/oriented_rcnn_r18_shapes/epoch_4.pth'
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=4e-5))
param_scheduler = None
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
