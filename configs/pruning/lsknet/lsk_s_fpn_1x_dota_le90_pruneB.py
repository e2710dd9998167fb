# Slimming plan B: RoI head fc 1024 -> 640, MLP ratios [6, 6, 3, 3], and the
# FPN width 256 -> 224. `fpn_channels` is the one place that sets the FPN
# width: every consumer (RPN, RoI extractor, bbox head) reads it.
_base_ = './lsk_s_fpn_1x_dota_le90_pruneA.py'

fpn_channels = 224
model = dict(
    neck=dict(out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=fpn_channels),
        bbox_head=dict(in_channels=fpn_channels, fc_out_channels=640)))
