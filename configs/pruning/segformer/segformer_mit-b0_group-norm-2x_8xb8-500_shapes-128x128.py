# SegFormer-b0 from its 2k-iteration shapes checkpoint, pruned with
# group_norm to 2x fewer FLOPs before the first iteration (round_to=8),
# then the 500-iteration finetune of its control (a tenth of the base's
# peak rate, constant).
_base_ = '../../segformer/segformer_mit-b0_finetune-500_shapes-128x128.py'

custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8)
]
