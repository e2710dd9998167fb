# RTMDet-tiny (mmdet model zoo) pruned with group_sl to 2x fewer FLOPs at
# 640x640 (round_to=8), then finetuned with the base schedule from a trained
# checkpoint (see the base). The first 10 epochs (4580 iterations at 8x32)
# train under the sparsity penalty.
_base_ = '../../rtmdet/rtmdet_tiny_finetune_8xb32-300e_coco.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_sl',
        speed_up=2.0,
        allocation='uniform',  # equal steps (the default: sensitivity)
        round_to=8,
        prune_at=[4580],
        sparse_training={
            'iters': 4580,
            'reg': 0.0005
        })
]
