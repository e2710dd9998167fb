# SegFormer-b0 (mmseg model zoo), random init, trained to convergence on the
# shapes set: the baseline of the converged recovery benchmark
# (tools/benchmarks/converged_recovery_segformer_shapes.sh). The 2k
# schedule of segformer_mit-b0_8xb8-2k_shapes-128x128.py stretched to 6000
# iterations (AdamW 2e-3, 100-iteration warm-up, linear decay to zero),
# validated every 500 iterations on 100 images (the curve); tools/test.py
# scores the separate 1000-image test split, fine enough to resolve 1 mIoU
# point between paired runs.
_base_ = './segformer_mit-b0_8xb8-2k_shapes-128x128.py'

max_iters = 6000
train_cfg = dict(max_iters=max_iters, val_interval=500)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_iters)  # the decay to zero
]
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=1))

test_dataloader = dict(
    _base_.val_dataloader,
    dataset=dict(
        _base_.val_dataloader['dataset'],
        data_root='{{$MMPRUNE_DATA:data}}/shapes_seg_128/test/',
        shapes=dict(
            _base_.val_dataloader['dataset']['shapes'],
            num_images=1000,
            split='test')))
