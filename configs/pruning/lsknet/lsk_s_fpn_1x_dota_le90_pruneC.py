# Slimming plan C: plan B plus a narrower LSK split in stages 3-4
# (dim // 2 -> dim // 3: 160 -> 106 and 256 -> 170 channels).
_base_ = './lsk_s_fpn_1x_dota_le90_pruneB.py'

model = dict(backbone=dict(lsk_split_dims=[32, 64, 320 // 3, 512 // 3]))
