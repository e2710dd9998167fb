# RTMDet-tiny from the main job's checkpoint: group_norm pruning to 2x
# fewer FLOPs (round_to=8) before the first iteration, then the
# warm-up + cosine finetune of 200 iterations
# (rtmdet_tiny_finetune-warmup-cosine-2e_shapes.py).
_base_ = '../../rtmdet/rtmdet_tiny_finetune-warmup-cosine-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8)
]
