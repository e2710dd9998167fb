# A 2-epoch (200-iteration) finetune of a checkpoint pruned offline by
# tools/prune.py (pass it as load_from): StructuredPruningHook without a
# target rebuilds the pruned structure before the weights load. Warm-up
# to half the baseline's peak rate, then cosine decay.
#   python tools/train.py THIS_CONFIG --cfg-options load_from=DIR/pruned.pth
_base_ = './rtmdet_tiny_finetune-warmup-cosine-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(type='mmprune.StructuredPruningHook')
]
