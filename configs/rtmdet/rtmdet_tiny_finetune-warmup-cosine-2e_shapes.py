# The 2-epoch (200-iteration) finetune of the main job's RTMDet-tiny with a
# schedule: half the baseline's peak rate (2e-3), reached by a 20-iteration
# linear warm-up, then cosine decay to 5% of it; EMA as in the baseline.
# Budget: 200 iterations of batch 8. Compared with the constant rate of
# rtmdet_tiny_finetune-2e_shapes.py in
# tools/benchmarks/finetune_recipes_shapes.sh.
_base_ = './rtmdet_tiny_finetune-2e_shapes.py'

lr = 2e-3
iters = 200
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        eta_min=lr * 0.05,
        by_epoch=False,
        begin=20,
        end=iters,
        T_max=iters - 20)
]
