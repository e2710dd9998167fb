# The half-FLOPs RTMDet-tiny (configs/pruning/rtmdet/) with the same
# 2-epoch finetune, distilled from the main job's RTMDet-tiny: neck
# features (MSE through a 64 -> 96 adapter), per-level classification
# logits (sigmoid KD, tau 1) and box regression (smooth L1). The student's
# checkpoints load with the plain slim config.
_base_ = '../pruning/rtmdet/rtmdet_tiny_slim-half-flops_2e_shapes.py'

model = dict(
    _delete_=True,
    type='mmprune.Distiller',
    student={{_base_.model}},
    teacher_config='configs/rtmdet/rtmdet_tiny_12e_shapes.py',
    teacher_checkpoint='work_dirs/main_job/epoch_8.pth',
    distill_losses=dict(
        neck=dict(
            type='mmprune.FeatureMSELoss',
            student='neck',
            teacher='neck',
            loss_weight=1.0),
        cls=dict(
            type='mmprune.LogitsKDLoss',
            student='bbox_head.rtm_cls',
            teacher='bbox_head.rtm_cls',
            use_sigmoid=True,
            loss_weight=1.0),
        reg=dict(
            type='mmprune.BoxRegressionKDLoss',
            student='bbox_head.rtm_reg',
            teacher='bbox_head.rtm_reg',
            loss_weight=0.1)),
    distill_weight_schedule=dict(warmup_iters=20))
