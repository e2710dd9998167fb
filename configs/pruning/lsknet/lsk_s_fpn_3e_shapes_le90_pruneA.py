# Slimming plan A (lsk_s_fpn_1x_dota_le90_pruneA.py) on the shapes benchmark:
# fc 1024 -> 768, MLP ratios [6, 6, 3, 3]. Starts from the trained
# lsk_s_fpn_3e_shapes_le90 baseline through importance-based weight
# inheritance, then finetunes for 100 iterations at the baseline's final lr.
_base_ = '../../lsknet/lsk_s_fpn_3e_shapes_le90.py'

model = dict(
    backbone=dict(mlp_ratios=[6, 6, 3, 3]),
    roi_head=dict(bbox_head=dict(fc_out_channels=768)))

custom_hooks = [
    dict(
        type='mmprune.WeightInheritanceHook',
        checkpoint='work_dirs/lsk_s_fpn_3e_shapes_le90/epoch_3.pth',
        importance='l1')
]

# short finetune: 100 iterations at a constant 4e-5
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=100, val_interval=100)
param_scheduler = None
optim_wrapper = dict(optimizer=dict(lr=4e-5))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=100))
log_processor = dict(by_epoch=False)
