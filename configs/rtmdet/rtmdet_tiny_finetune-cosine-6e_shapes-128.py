# The finetune of the converged benchmark: 6 epochs (600 iterations, 1/8 of
# the 48-epoch baseline) from rtmdet_tiny_48e_shapes-128.py's last
# checkpoint. The rate rises over 50 iterations from a tenth to `lr` (the
# baseline's peak, 20x its final rate: the best of 1x, 5x and 20x measured
# by tools/benchmarks/converged_recovery_shapes.sh), then falls along a
# cosine to zero; the EMA restarts from the loaded (EMA) weights, with the
# baseline's momentum. On its own, the unpruned control. The schedule
# tools/prune.py writes into its finetune configs.
_base_ = './rtmdet_tiny_48e_shapes-128.py'

load_from = 'work_dirs/converged/rtmdet_baseline/epoch_48.pth'
max_epochs = 6
iters = 600  # 800 images, batch 8
warmup = 50
lr = 4e-3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
        end=warmup),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0,
        by_epoch=False,
        begin=warmup,
        end=iters,
        T_max=iters - warmup)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
