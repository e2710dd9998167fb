# RTMDet-tiny (mmdet model zoo) started from a trained COCO checkpoint: the
# base of the pruning configs in configs/pruning/rtmdet/. Put the
# checkpoint at load_from (nothing is downloaded; the backbone's ImageNet
# init is off since load_from replaces it). Schedule: the base's.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
# a fixed seed: the same command gives the same figures
randomness = dict(seed=0)
custom_imports = dict(imports=['mmprune'], allow_failed_imports=False)

load_from = 'checkpoints/rtmdet_tiny_8xb32-300e_coco.pth'
model = dict(backbone=dict(init_cfg=None))
