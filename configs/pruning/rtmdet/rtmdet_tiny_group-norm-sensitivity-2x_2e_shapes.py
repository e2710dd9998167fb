# RTMDet-tiny from the main job's checkpoint: group_norm pruning to 2x
# fewer FLOPs with non-uniform ratios (round_to=8): each block is first
# pruned alone at 25/50/75% on copies, with the training loss on 4 batches
# measuring the damage, and the FLOPs are taken where the loss rises least.
# Then finetuned for 200 iterations.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
