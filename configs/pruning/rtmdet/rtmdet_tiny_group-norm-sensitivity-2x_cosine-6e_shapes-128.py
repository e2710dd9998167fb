# The converged benchmark's default recipe: RTMDet-tiny trained to
# convergence (rtmdet_tiny_48e_shapes-128.py) pruned with group_norm to 2x
# fewer FLOPs, ratios allocated by sensitivity (round_to=8), then the
# benchmark's 6-epoch finetune (1/8 of the baseline's budget).
_base_ = '../../rtmdet/rtmdet_tiny_finetune-cosine-6e_shapes-128.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
