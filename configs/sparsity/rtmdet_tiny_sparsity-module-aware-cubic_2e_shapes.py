# Module-aware unstructured sparsity on RTMDet-tiny (shapes):
# per module kind a share of the weights is zeroed by 0.7 L1 + 0.3 L2
# magnitude, the detection head is left dense, and the ratios grow with a
# cubic schedule over the first 100 iterations of a 2-epoch finetune from
# the main job's checkpoint (the schedule of rtmdet_tiny_finetune-2e_shapes).
#   python tools/train.py \
#       configs/sparsity/rtmdet_tiny_sparsity-module-aware-cubic_2e_shapes.py
_base_ = '../rtmdet/rtmdet_tiny_finetune-2e_shapes.py'

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
    dict(
        type='mmprune.UnstructuredSparsityHook',
        # first match wins: CSPNeXt's stem is the most sensitive (the
        # module-aware ratios give their most important module 4%),
        # attention 12%, depthwise
        # separable convs 15%, the remaining CSP block convs 6%, the neck
        # 10%; every other conv 22%; heads protected (the default).
        ratios=[
            (r'backbone\.stem', 0.04),
            (r'\.attention', 0.12),
            (r'\.(depthwise|pointwise)_conv', 0.15),
            (r'backbone\.stage\d\.\d\.blocks', 0.06),
            (r'^neck', 0.10),
        ],
        default_ratio=0.22,
        importance='l1+l2',
        l1_weight=0.7,
        scope='per_layer',
        start_iter=0,
        end_iter=100,
        interval=10,
        input_shape=(256, 256)),
]
