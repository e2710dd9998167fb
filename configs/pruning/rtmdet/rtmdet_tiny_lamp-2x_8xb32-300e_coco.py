# RTMDet-tiny (mmdet model zoo) pruned with lamp to 2x fewer FLOPs at 640x640
# (round_to=8), then finetuned with the base schedule from a trained
# checkpoint (see the base). Pruned before the first iteration.
_base_ = '../../rtmdet/rtmdet_tiny_finetune_8xb32-300e_coco.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='lamp',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8)
]
