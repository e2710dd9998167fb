# The converged benchmark's default recipe for RTMDet-tiny
# (rtmdet_tiny_group-norm-sensitivity-2x_cosine-6e_shapes-128.py) finetuned
# while distilled from itself unpruned (the model of load_from, frozen): PKD
# on the neck's three levels and sigmoid logits KD on the classification
# outputs, the weights of rtmdet_tiny_group-norm-2x_pkd-self_2e_shapes.py.
# Checkpoints load with that plain pruning config.
_base_ = ('../pruning/rtmdet/rtmdet_tiny_group-norm-sensitivity-2x_'
          'cosine-6e_shapes-128.py')

model = dict(
    _delete_=True,
    type='mmprune.Distiller',
    student={{_base_.model}},
    distill_losses=dict(
        neck=dict(type='mmprune.PKDLoss', student='neck', loss_weight=2.0),
        cls=dict(
            type='mmprune.LogitsKDLoss',
            student='bbox_head.rtm_cls',
            use_sigmoid=True,
            loss_weight=1.0)))
