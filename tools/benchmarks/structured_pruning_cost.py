"""Time and peak memory to trace and prune real model-zoo detectors on
CPU with ``mmprune.core.structured.prune_model`` (l1, ratio 0.3, round_to
8): LSK-S Oriented R-CNN (mmrotate) and Faster R-CNN R50-FPN (mmdet), each
in a fresh process so that peak RSS is its own.

    python tools/benchmarks/structured_pruning_cost.py
"""
import json
import os.path as osp
import resource
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODELS = {
    'Oriented R-CNN LSK-S (mmrotate)':
    ('configs/lsknet/lsk_s_fpn_3e_shapes_le90.py', None),
    'Faster R-CNN R50-FPN (mmdet)':
    ('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
     'configs/rtmdet/rtmdet_tiny_12e_shapes.py'),
}


def measure(config: str, data_config: str) -> dict:
    import torch  # noqa: F401
    from mmengine.config import Config

    import mmprune  # noqa: F401
    from mmprune.core.structured import prune_model
    from mmprune.datasets.train_batches import tracing_batch
    from mmprune.models.builder import build_model_from
    cfg = Config.fromfile(config if '::' not in config else _zoo(config))
    data_cfg = Config.fromfile(data_config or config)
    data_cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    model = build_model_from(cfg)
    data = tracing_batch(data_cfg, model)
    start = time.perf_counter()
    result = prune_model(model, data, 'l1', ratio=0.3, round_to=8)
    seconds = time.perf_counter() - start
    return dict(
        seconds=round(seconds, 2),
        peak_rss_mb=round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        params_before=result.params_before,
        params_after=result.params_after)


def _zoo(base: str) -> str:
    """A config file inheriting a model-zoo config with 5 classes and no
    pretrained download."""
    import tempfile
    path = osp.join(tempfile.mkdtemp(), 'zoo.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n'
                'model = dict(backbone=dict(init_cfg=None), roi_head=dict('
                'bbox_head=dict(num_classes=5)))\n')
    return path


def main() -> None:
    if len(sys.argv) == 3:  # child: one model
        print(json.dumps(measure(sys.argv[1], sys.argv[2] or None)))
        return
    print('| model | trace + prune (s) | peak RSS (MB) | params |')
    print('| --- | --- | --- | --- |')
    for name, (config, data_config) in MODELS.items():
        out = subprocess.run(
            [sys.executable, __file__, config, data_config or ''],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f'| {name} | {r["seconds"]} | {r["peak_rss_mb"]} | '
              f'{r["params_before"] / 1e6:.2f}M -> '
              f'{r["params_after"] / 1e6:.2f}M |')


if __name__ == '__main__':
    main()
