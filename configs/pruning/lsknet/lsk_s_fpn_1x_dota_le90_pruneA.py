# Slimming plan A (least invasive): RoI head fc 1024 -> 768 and LSKNet MLP
# ratios [8, 8, 4, 4] -> [6, 6, 3, 3]. Every other width is the base's.
# Weights come from a trained lsk_s_fpn_1x_dota_le90 checkpoint through
# importance-based weight inheritance (L1 within each coupled channel
# group); set `checkpoint` to yours, e.g. with
#   --cfg-options custom_hooks.0.checkpoint=work_dirs/.../epoch_12.pth
_base_ = '../../lsknet/lsk_s_fpn_1x_dota_le90.py'

model = dict(
    backbone=dict(mlp_ratios=[6, 6, 3, 3]),
    roi_head=dict(bbox_head=dict(fc_out_channels=768)))

custom_hooks = [
    dict(
        type='mmprune.WeightInheritanceHook',
        checkpoint='work_dirs/lsk_s_fpn_1x_dota_le90/epoch_12.pth',
        importance='l1')
]
