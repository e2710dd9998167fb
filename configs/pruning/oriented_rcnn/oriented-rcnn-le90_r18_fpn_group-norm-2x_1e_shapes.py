# Oriented R-CNN R18 from its 4-epoch shapes checkpoint, pruned with
# group_norm to 2x fewer FLOPs before the first iteration (round_to=8),
# then finetuned for 1 epoch (200 iterations at batch 4) at the base's
# final rate, constant (the finetune of
# oriented-rcnn-le90_r18_fpn_finetune-1e_shapes.py, its control).
_base_ = '../../oriented_rcnn/oriented-rcnn-le90_r18_fpn_finetune-1e_shapes.py'

custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8)
]
