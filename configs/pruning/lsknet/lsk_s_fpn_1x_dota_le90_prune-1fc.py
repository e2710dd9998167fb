# The single-FC slimming plan: one shared FC of 768 channels instead of two of
# 1024; classification and regression read it directly. fc1 is inherited
# (its 768 most important outputs); fc_cls/fc_reg weights start fresh,
# because the channels they read in the source came from the removed fc2
# (weight_inheritance.json says so for each).
_base_ = '../../lsknet/lsk_s_fpn_1x_dota_le90.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='mmdet.ConvFCBBoxHead',
            num_shared_convs=0,
            num_shared_fcs=1,
            num_cls_convs=0,
            num_cls_fcs=0,
            num_reg_convs=0,
            num_reg_fcs=0,
            fc_out_channels=768)))

custom_hooks = [
    dict(
        type='mmprune.WeightInheritanceHook',
        checkpoint='work_dirs/lsk_s_fpn_1x_dota_le90/epoch_12.pth',
        importance='l1')
]
