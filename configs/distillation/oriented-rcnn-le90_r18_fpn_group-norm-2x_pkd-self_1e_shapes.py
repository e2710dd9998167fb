# Oriented R-CNN R18 pruned to 2x fewer FLOPs (group_norm) and finetuned for
# 1 epoch while distilled from itself unpruned (the model of load_from):
# PKD on the FPN levels (1x1 adapters sized after pruning) and logits KD on
# the RoI classifier, the teacher's RoI head run on the student's sampled
# RoIs. Checkpoints load with the plain pruning config.
_base_ = ('../pruning/oriented_rcnn/'
          'oriented-rcnn-le90_r18_fpn_group-norm-2x_1e_shapes.py')

model = dict(
    _delete_=True,
    type='mmprune.Distiller',
    student={{_base_.model}},
    distill_losses=dict(
        neck=dict(type='mmprune.PKDLoss', student='neck', loss_weight=2.0),
        cls=dict(
            type='mmprune.LogitsKDLoss',
            student='roi_head.bbox_head.fc_cls',
            loss_weight=1.0)))
