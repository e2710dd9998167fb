"""End-to-end export across model-zoo configs: each model pruned (l1,
ratio 0.3, mmdet's own random initialisation), exported with
``--end2end``'s graph, and ONNX Runtime's detections matched against the
model's own predict on random images.

    python tools/benchmarks/end2end_export_zoo.py [--size 320] [--images 2] \
        [CONFIG ...]

Untrained heads score most boxes alike; to have detections to compare,
the score threshold is lowered to 0.001 (``test_cfg.score_thr`` or
``rcnn.score_thr``), and YOLOX's score convolutions get wider random
weights (its initial scores, ~1e-4, are below any threshold). Prints one
row per config: pruned params, detections compared, the share reproduced,
the largest box and score differences, or the refusal.
"""
import time

import torch
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.core.structured import prune_model
from mmprune.datasets.synthetic_batch import synthetic_training_batch, task_of
from mmprune.deployment.end2end import UnsupportedEnd2EndError, end2end_graph
from mmprune.deployment.end2end.export import export_end2end
from mmprune.deployment.onnx_export import OnnxParityError
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config
from mmprune.utils.cli import tool_parser

CONFIGS = [
    'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
    'mmrotate::oriented_rcnn/oriented-rcnn-le90_r50_fpn_1x_dota.py',
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
]


def one(config: str, size: int, images: int, tmp: str) -> str:
    cfg = read_config(config)
    test_cfg = cfg.model.get('test_cfg') or {}
    if 'rcnn' in test_cfg:
        test_cfg.rcnn.score_thr = 0.001
    elif 'score_thr' in test_cfg:
        test_cfg.score_thr = 0.001
    if cfg.model.get('backbone'):
        cfg.model.backbone.init_cfg = None  # nothing is downloaded
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    model = build_model_from(cfg)
    model.init_weights()
    if 'YOLOX' in type(model).__name__:
        # untrained YOLOX scores every box ~1e-4, below any threshold:
        # spread its class and objectness scores to have boxes to compare
        for conv in list(model.bbox_head.multi_level_conv_cls) + list(
                model.bbox_head.multi_level_conv_obj):
            torch.nn.init.normal_(conv.weight, std=0.5)
            torch.nn.init.zeros_(conv.bias)
    data = synthetic_training_batch(model, task_of(cfg), (128, 128))
    prune_model(model, data, 'l1', ratio=0.3)
    model.eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    shape = (size, size)
    try:
        graph = end2end_graph(model, shape)
    except UnsupportedEnd2EndError as e:
        return f'| {config} | {params:.1f}M | refused: {e} | | |'
    torch.manual_seed(1)
    batch = [torch.rand(1, 3, *shape) * 255 for _ in range(images)]
    start = time.perf_counter()
    try:
        m = export_end2end(model, f'{tmp}/m.onnx', shape, batch, graph)
    except OnnxParityError as e:
        return f'| {config} | {params:.1f}M | FAILED: {e} | | |'
    c = m['check']
    return (f'| {config} | {params:.1f}M | {c["summary"]} | '
            f'{c["agreement"]:.1%} | {time.perf_counter() - start:.0f} s |')


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('configs', nargs='*', default=CONFIGS)
    parser.add_argument('--size', type=int, default=320)
    parser.add_argument('--images', type=int, default=2)
    args = parser.parse_args()
    import tempfile
    print('| config | params (pruned) | check | agreement | export + check |')
    print('| --- | --- | --- | --- | --- |')
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            print(one(config, args.size, args.images, tmp), flush=True)


if __name__ == '__main__':
    main()
