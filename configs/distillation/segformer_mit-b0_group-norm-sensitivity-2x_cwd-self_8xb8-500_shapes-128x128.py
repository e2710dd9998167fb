# Both recoveries for SegFormer-b0: the self-distilled finetune of
# segformer_mit-b0_group-norm-2x_cwd-self_8xb8-500_shapes-128x128.py
# (channel-wise distillation of the logits from the unpruned model of
# load_from) with the sensitivity-allocated ratios of
# segformer_mit-b0_group-norm-sensitivity-2x_8xb8-500_shapes-128x128.py.
# Checkpoints load with that plain pruning config.
_base_ = './segformer_mit-b0_group-norm-2x_cwd-self_8xb8-500_shapes-128x128.py'

custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
