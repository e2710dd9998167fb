# RTMDet-tiny from the main job's checkpoint, pruned with group_norm to 2x
# fewer FLOPs before the first iteration (round_to=8), then finetuned for
# 200 iterations (2 epochs at batch 8, the pruning configs' budget) while
# distilled from itself unpruned: the teacher is the model of load_from,
# frozen. PKD (Pearson correlation) on the neck's three levels, through
# 1x1 adapters sized after pruning, and sigmoid logits KD on the
# classification outputs. The checkpoints load with the plain pruning
# config (tools/test.py configs/pruning/rtmdet/
# rtmdet_tiny_group-norm-2x_2e_shapes.py CKPT); they also hold the teacher
# ('distill_teacher') so that --resume needs nothing else.
_base_ = '../pruning/rtmdet/rtmdet_tiny_group-norm-2x_2e_shapes.py'

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
