# YOLOX-tiny (mmdet model zoo), random init, on the synthetic shapes set,
# pruned in three sparse-train -> prune -> finetune cycles: 50
# iterations of network-slimming penalty before each of iterations 100, 200
# and 300, each prune a third of the 50% total, channels rounded to
# multiples of 8, then a last 100 iterations of finetuning. Runs on CPU.
_base_ = [
    'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py',
    '../../_base_/datasets/shapes_coco.py'
]
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)

model = dict(
    # fixed 256 px input: the base resizes batches to 320-640 px
    data_preprocessor=dict(batch_augments=None),
    bbox_head=dict(num_classes=5))

max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0, end=50)
]
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=2), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=8)
# the base's mode switch and norm sync hooks are for its 300-epoch mosaic
# schedule on several GPUs
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        update_buffers=True,
        priority=49),
    dict(
        type='mmprune.StructuredPruningHook',
        method='slim',
        ratio=0.5,
        round_to=8,
        prune_at=[100, 200, 300],
        sparse_training=dict(iters=50, reg=1e-4))
]

# Data: the synthetic shapes set (../../_base_/datasets/shapes_coco.py).
train_dataloader = _base_.shapes_train_dataloader
val_dataloader = _base_.shapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_val_evaluator
test_evaluator = val_evaluator
