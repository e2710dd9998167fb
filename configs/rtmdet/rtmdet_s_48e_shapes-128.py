# RTMDet-s (mmdet model zoo), random init, on the 128 px shapes set with the
# converged benchmark's 48-epoch schedule (rtmdet_tiny_48e_shapes-128.py):
# the zoo's next-larger model. Pruned to RTMDet-tiny's FLOPs and trained
# from scratch, it is compared with RTMDet-tiny trained the same way, at
# equal budget and about equal FLOPs; trained, pruned and finetuned, with
# the original RTMDet-tiny (tools/benchmarks/converged_recovery_shapes.sh,
# rows tiny-54e, s-uniform-54e, s-original, s-sensitivity-6e and
# s-sensitivity-54e).
_base_ = './rtmdet_tiny_48e_shapes-128.py'

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    neck=dict(in_channels=[128, 256, 512], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128))
