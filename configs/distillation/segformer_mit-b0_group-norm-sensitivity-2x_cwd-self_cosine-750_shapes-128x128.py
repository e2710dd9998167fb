# The converged benchmark's default recipe for SegFormer-b0
# (segformer_mit-b0_group-norm-sensitivity-2x_cosine-750_shapes-128x128.py)
# finetuned while distilled from itself unpruned (the model of load_from):
# channel-wise distillation of the segmentation logits (tau 1, weight 3 as
# in the paper). Checkpoints load with that plain pruning config.
_base_ = ('../pruning/segformer/segformer_mit-b0_group-norm-sensitivity-2x_'
          'cosine-750_shapes-128x128.py')

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
