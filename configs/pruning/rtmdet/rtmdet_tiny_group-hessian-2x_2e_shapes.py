# RTMDet-tiny from the main job's checkpoint: group_hessian pruning to 2x
# fewer FLOPs (round_to=8) before the first iteration, then finetuned for
# 200 iterations.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_hessian',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8,
        gradient_batches=4)
]
