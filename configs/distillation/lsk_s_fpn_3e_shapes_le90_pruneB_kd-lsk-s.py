# Slimming plan B (shapes), finetuned for the same 100 iterations as
# configs/pruning/lsknet/lsk_s_fpn_3e_shapes_le90_pruneB.py, with
# distillation from the unslimmed LSK-S it inherits from: FPN
# features (MSE through a 224 -> 256 adapter), RPN objectness (sigmoid
# KD), RoI classification (KL, tau 2) and box regression (smooth L1) on the
# student's own sampled RoIs. The student's checkpoints load with the
# plain pruneB config: tools/test.py <pruneB config> <checkpoint>.
_base_ = '../pruning/lsknet/lsk_s_fpn_3e_shapes_le90_pruneB.py'

teacher_config = 'configs/lsknet/lsk_s_fpn_3e_shapes_le90.py'
teacher_checkpoint = 'work_dirs/lsk_s_fpn_3e_shapes_le90/epoch_3.pth'
model = dict(
    _delete_=True,
    type='mmprune.Distiller',
    student={{_base_.model}},
    teacher_config=teacher_config,
    teacher_checkpoint=teacher_checkpoint,
    distill_losses=dict(
        fpn=dict(
            type='mmprune.FeatureMSELoss',
            student='neck',
            teacher='neck',
            loss_weight=1.0),
        rpn_cls=dict(
            type='mmprune.LogitsKDLoss',
            student='rpn_head.rpn_cls',
            teacher='rpn_head.rpn_cls',
            use_sigmoid=True,
            loss_weight=1.0),
        roi_cls=dict(
            type='mmprune.LogitsKDLoss',
            student='roi_head.bbox_head.fc_cls',
            teacher='roi_head.bbox_head.fc_cls',
            tau=2.0,
            loss_weight=1.0),
        roi_reg=dict(
            type='mmprune.BoxRegressionKDLoss',
            student='roi_head.bbox_head.fc_reg',
            teacher='roi_head.bbox_head.fc_reg',
            beta=1.0,
            loss_weight=1.0)),
    # full weight after a 20-iteration ramp
    distill_weight_schedule=dict(warmup_iters=20),
    probe_shape=(128, 128))
