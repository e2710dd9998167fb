# RTMDet-tiny from the main job's checkpoint: group_norm pruning until the
# model is measured 2x faster in ONNX Runtime on this machine at 640x640
# (the deployment input; uniform ratios, in equal steps, each measured
# against the unpruned model in alternation). Then finetuned for 200
# iterations.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        latency_speed_up=2.0,
        latency_runtime='onnxruntime',
        round_to=8,
        input_shape=(640, 640))
]
