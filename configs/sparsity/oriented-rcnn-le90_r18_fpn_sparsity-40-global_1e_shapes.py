# Oriented R-CNN R18-FPN (mmrotate, shapes): 40% of the backbone, neck and
# RPN/RoI weights zeroed by global L1 ranking, the prediction layers
# (rpn_cls/rpn_reg/fc_cls/fc_reg) protected; cubic over the first 200
# iterations of a 1-epoch finetune from the 4-epoch baseline.
_base_ = '../oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py'

load_from = 'work_dirs/oriented-rcnn-le90_r18_fpn_4e_shapes/epoch_4.pth'
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = None
optim_wrapper = dict(optimizer=dict(lr=4e-5))

custom_hooks = [
    dict(
        type='mmprune.UnstructuredSparsityHook',
        default_ratio=0.4,
        scope='global',
        start_iter=0,
        end_iter=200,
        interval=20,
        input_shape=(128, 128)),
]
