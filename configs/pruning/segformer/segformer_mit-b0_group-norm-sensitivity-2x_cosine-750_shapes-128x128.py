# The converged benchmark's default recipe for SegFormer-b0: the model
# trained to convergence (segformer_mit-b0_8xb8-6k_shapes-128x128.py)
# pruned with group_norm to 2x fewer FLOPs, ratios allocated by
# sensitivity (round_to=8), then the benchmark's 750-iteration finetune
# (1/8 of the baseline's budget).
_base_ = ('../../segformer/'
          'segformer_mit-b0_finetune-cosine-750_shapes-128x128.py')

custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        speed_up=2.0,
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4)
]
