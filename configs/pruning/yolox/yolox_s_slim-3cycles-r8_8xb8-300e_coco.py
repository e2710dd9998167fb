# YOLOX-s (mmdet model zoo) pruned in three sparse-train -> prune -> finetune
# cycles: before each prune point, 5000 iterations with the
# network-slimming penalty on BN scales; each prune removes a third of the
# 50% total (channels rounded to multiples of 8); the rest of the base
# schedule finetunes. Start from a trained checkpoint at load_from (nothing
# is downloaded).
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

load_from = 'checkpoints/yolox_s_8xb8-300e_coco.pth'

custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmprune.StructuredPruningHook',
        method='slim',
        ratio=0.5,
        round_to=8,
        prune_at=[5000, 20000, 35000],
        sparse_training=dict(iters=5000, reg=1e-4),
        input_shape=(640, 640))
]
