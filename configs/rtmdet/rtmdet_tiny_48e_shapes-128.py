# RTMDet-tiny (mmdet model zoo), random init, trained to convergence on the
# shapes set at 128 px: the baseline of the converged recovery benchmark
# (tools/benchmarks/converged_recovery_shapes.sh). A quarter of the pixels of
# rtmdet_tiny_12e_shapes.py, so that 48 epochs fit 2 CPU cores (objects
# 12-48 px, the same share of the image). Its schedule stretched to 48
# epochs: AdamW 4e-3, 200-iteration warm-up, flat, then cosine to 5% over
# the second half. Validated every 4 epochs on 200 images (the curve);
# tools/test.py scores the separate 1000-image test split (about 3,500
# objects), fine enough to resolve 1 mAP point between paired runs.
_base_ = './rtmdet_tiny_12e_shapes.py'

max_epochs = 48
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0e-3, by_epoch=False, begin=0,
        end=200),
    dict(
        type='CosineAnnealingLR',
        eta_min=_base_.base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=1))

_data_root = '{{$MMPRUNE_DATA:data}}/shapes_coco_128/'
_scene = dict(img_size=128, min_object_size=12, max_object_size=48, seed=0)
_resize = dict(type='Resize', scale=(128, 128), keep_ratio=True)
train_dataloader = dict(
    dataset=dict(
        data_root=_data_root + 'train/',
        shapes=dict(_scene, num_images=800, split='train'),
        filter_cfg=dict(min_size=2),
        pipeline=[
            _resize if t['type'] == 'Resize' else t
            for t in _base_.shapes_train_pipeline
        ]))
val_dataloader = dict(
    dataset=dict(
        data_root=_data_root + 'val/',
        shapes=dict(_scene, num_images=200, split='val'),
        pipeline=[
            _resize if t['type'] == 'Resize' else t
            for t in _base_.shapes_test_pipeline
        ]))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_root=_data_root + 'test/',
        shapes=dict(_scene, num_images=1000, split='test')))
val_evaluator = dict(ann_file=_data_root + 'val/annotation.json')
test_evaluator = dict(ann_file=_data_root + 'test/annotation.json')
