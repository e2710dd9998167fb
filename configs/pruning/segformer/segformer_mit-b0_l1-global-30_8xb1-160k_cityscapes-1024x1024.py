# SegFormer mit-b0 on Cityscapes (mmseg model zoo): global L1 channel pruning
# of 30% of the channels, patch embedding and classifier kept,
# then finetuned with the base schedule. Start from a trained checkpoint at
# load_from (nothing is downloaded).
_base_ = 'mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py'
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

load_from = 'checkpoints/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.pth'
model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='l1',
        ratio=0.3,
        global_pruning=True,
        round_to=8,
        input_shape=(1024, 1024))
]
