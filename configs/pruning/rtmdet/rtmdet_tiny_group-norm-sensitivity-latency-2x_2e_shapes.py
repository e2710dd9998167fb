# RTMDet-tiny from the main job's checkpoint: group_norm pruning until the
# model is measured 2x faster in ONNX Runtime at 640x640, with non-uniform
# ratios: each block is first pruned alone at 25/50/75% on copies, the
# training loss on 4 batches measuring the damage, the FLOPs are taken
# where the loss rises least per FLOP, and the allocation is asked for
# more until the pruned model is measured 2x faster (timed in alternation
# with the unpruned model, confirmed by a second measurement). Then
# finetuned for 200 iterations.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        latency_speed_up=2.0,
        latency_runtime='onnxruntime',
        round_to=8,
        allocation='sensitivity',
        gradient_batches=4,
        input_shape=(640, 640))
]
