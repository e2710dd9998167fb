# SegFormer-b0 pruned to 2x fewer FLOPs (group_norm) and finetuned for 500
# iterations while distilled from itself unpruned (the model of
# load_from): channel-wise distillation of the segmentation logits (each
# class map a distribution over pixels, tau 1, weight 3 as in the paper).
# Checkpoints load with the plain pruning config.
_base_ = ('../pruning/segformer/'
          'segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py')

model = dict(
    _delete_=True,
    type='mmprune.Distiller',
    student={{_base_.model}},
    distill_losses=dict(
        logits=dict(
            type='mmprune.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            tau=1.0,
            loss_weight=3.0)))
