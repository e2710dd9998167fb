# RTMDet-tiny from the main job's checkpoint: group_norm pruning until the
# model is measured 2x faster in ONNX Runtime on this machine at 640x640,
# with channel counts rounded to the multiple that is fastest there
# (round_to='measured': the heaviest convolutions are timed at the widths
# a 2x cut asks for, once per machine, then cached). Then finetuned for
# 200 iterations.
_base_ = '../../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='group_norm',
        latency_speed_up=2.0,
        latency_runtime='onnxruntime',
        round_to='measured',
        input_shape=(640, 640))
]
