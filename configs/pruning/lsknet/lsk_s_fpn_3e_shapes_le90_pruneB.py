# Slimming plan B on the shapes benchmark: plan A with fc 640 and the FPN
# width 256 -> 224 (set in one place, `fpn_channels`).
_base_ = './lsk_s_fpn_3e_shapes_le90_pruneA.py'

fpn_channels = 224
model = dict(
    neck=dict(out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=fpn_channels),
        bbox_head=dict(in_channels=fpn_channels, fc_out_channels=640)))
