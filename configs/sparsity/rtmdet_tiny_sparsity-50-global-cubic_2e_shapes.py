# Half of every RTMDet-tiny weight outside the head zeroed, ranked globally
# (layers compete, scores normalised per layer), cubic over 100 iterations
# of the same 2-epoch finetune as the module-aware config.
_base_ = './rtmdet_tiny_sparsity-module-aware-cubic_2e_shapes.py'

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='mmprune.UnstructuredSparsityHook',
        default_ratio=0.5,
        importance='l1',
        scope='global',
        start_iter=0,
        end_iter=100,
        interval=10,
        input_shape=(256, 256)),
]
