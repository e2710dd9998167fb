# RTMDet-tiny from the main job's checkpoint: group_slim pruning to 2x
# fewer FLOPs (round_to=8): 100 iterations of sparse training, pruned at
# iteration 100, finetuned for the other 100.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_slim',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8,
        prune_at=[100],
        sparse_training={
            'iters': 100,
            'reg': 0.0001
        })
]
