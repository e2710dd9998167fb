# SegFormer-b0 pruned with group_norm to 2x fewer FLOPs with non-uniform
# ratios (round_to=8): each block is first pruned alone at 25/50/75% on
# copies, the training loss on 4 batches measuring the damage, and the
# FLOPs are taken where the loss rises least. Then the same 500-iteration
# finetune as segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py.
_base_ = './segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py'

custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
