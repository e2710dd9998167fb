"""Realised CPU latency speed-up against the FLOPs reduction when real
model-zoo models (random init) are pruned to a 2x FLOPs target with
``round_to=8`` (l1): the ratio tells how much of the FLOPs cut the CPU
turns into time. Each model in a fresh process; median of 20 timed
tensor-mode forwards of one image after 3 warm-up runs, torch threads as
set by OMP_NUM_THREADS (the README's figures: 2).

    python tools/benchmarks/structured_pruning_speed.py
"""
import json
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# name: (config, config whose train data traces it (None: synthetic image,
# enough for models whose tensor-mode forward reaches every layer), H, W)
MODELS = {
    'RTMDet-tiny (mmdet)':
    ('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', None, 640, 640),
    'YOLOX-s (mmdet)':
    ('mmdet::yolox/yolox_s_8xb8-300e_coco.py', None, 640, 640),
    'SegFormer mit-b0 (mmseg)':
    ('mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
     'configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py', 512,
     512),
    'Faster R-CNN R50-FPN (mmdet)':
    ('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
     'configs/rtmdet/rtmdet_tiny_12e_shapes.py', 800, 800),
}


def measure(config: str, data_config: str, h: int, w: int) -> dict:
    import tempfile

    from mmengine.config import Config

    import mmprune  # noqa: F401
    from mmprune.analysis import (measure_latency, module_breakdown,
                                  synthetic_batch)
    from mmprune.apis.train_batches import tracing_batch
    from mmprune.apis.weight_inheritance import build_model_from
    from mmprune.core.structured import prune_model
    path = osp.join(tempfile.mkdtemp(), 'zoo.py')
    with open(path, 'w') as f:  # no pretrained download
        f.write(f'_base_ = [{config!r}]\n'
                'model = dict(backbone=dict(init_cfg=None))\n')
    cfg = Config.fromfile(path)
    model = build_model_from(cfg)
    if data_config:
        data_cfg = Config.fromfile(data_config)
        data_cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                         persistent_workers=False)
        data = tracing_batch(data_cfg, model)
    else:
        data = synthetic_batch(model, h, w)

    def flops(m) -> float:
        return module_breakdown(m, (h, w)).total_flops

    before = measure_latency(model, (h, w), runs=20, warmup=3)
    result = prune_model(model, data, 'l1', speed_up=2.0, round_to=8,
                         flops_fn=flops)
    after = measure_latency(model, (h, w), runs=20, warmup=3)
    return dict(flops_before=result.flops_before,
                flops_after=result.flops_after, latency_before=before,
                latency_after=after, params_before=result.params_before,
                params_after=result.params_after)


def main() -> None:
    if len(sys.argv) == 5:  # child: one model
        print(json.dumps(measure(sys.argv[1], sys.argv[2] or None,
                                 int(sys.argv[3]), int(sys.argv[4]))))
        return
    print('| model (input) | GFLOPs | params | CPU latency (ms) | FLOPs '
          'reduction | latency speed-up | speed-up / FLOPs reduction |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, (config, data_config, h, w) in MODELS.items():
        out = subprocess.run(
            [sys.executable, __file__, config, data_config or '', str(h),
             str(w)], cwd=REPO, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        fr = r['flops_before'] / r['flops_after']
        lr = r['latency_before'] / r['latency_after']
        print(f'| {name} ({h}x{w}) | {r["flops_before"] / 1e9:.2f} -> '
              f'{r["flops_after"] / 1e9:.2f} | '
              f'{r["params_before"] / 1e6:.2f}M -> '
              f'{r["params_after"] / 1e6:.2f}M | {r["latency_before"]} -> '
              f'{r["latency_after"]} | {fr:.2f}x | {lr:.2f}x | '
              f'{lr / fr:.2f} |')


if __name__ == '__main__':
    main()
