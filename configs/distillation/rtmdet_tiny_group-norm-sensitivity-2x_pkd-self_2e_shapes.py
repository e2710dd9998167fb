# Both recoveries: the self-distilled finetune of
# rtmdet_tiny_group-norm-2x_pkd-self_2e_shapes.py (PKD on the neck,
# sigmoid logits KD, the teacher the unpruned model of load_from), with the
# pruning hook of rtmdet_tiny_group-norm-sensitivity-2x_2e_shapes.py
# (sensitivity-allocated group_norm ratios for 2x fewer FLOPs).
# Checkpoints load with that plain pruning config.
_base_ = './rtmdet_tiny_group-norm-2x_pkd-self_2e_shapes.py'

# the base's last hook is its StructuredPruningHook
custom_hooks = _base_.custom_hooks[:-1] + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
