# SegFormer mit-b5 on ADE20K (mmseg model zoo): global L1 channel pruning
# of 50% of the channels, patch embedding and classifier kept,
# then finetuned with the base schedule. Start from a trained checkpoint at
# load_from (nothing is downloaded).
_base_ = 'mmseg::segformer/segformer_mit-b5_8xb2-160k_ade20k-512x512.py'
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

load_from = 'checkpoints/segformer_mit-b5_8xb2-160k_ade20k-512x512.pth'
model = dict(backbone=dict(init_cfg=None))
custom_hooks = [
    dict(
        type='mmprune.StructuredPruningHook',
        method='l1',
        ratio=0.5,
        global_pruning=True,
        round_to=8,
        input_shape=(512, 512))
]
