# Slimming plan C on the shapes benchmark: plan B with the LSK split narrowed
# to dim // 3 in stages 3-4.
_base_ = './lsk_s_fpn_3e_shapes_le90_pruneB.py'

model = dict(backbone=dict(lsk_split_dims=[32, 64, 320 // 3, 512 // 3]))
