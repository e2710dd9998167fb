# Oriented R-CNN with an LSKNet-T backbone on DOTA-v1.0 (le90): the LSK-S
# recipe with the tiny widths and depths.
_base_ = './lsk_s_fpn_1x_dota_le90.py'

model = dict(
    backbone=dict(
        embed_dims=[32, 64, 160, 256],
        depths=[3, 3, 5, 2],
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='data/pretrained/lsk_t_backbone.pth.tar')
    ),
    neck=dict(in_channels=[32, 64, 160, 256]))
