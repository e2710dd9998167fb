"""Export an mmdet, mmrotate or mmseg model (pruned or not) to ONNX, check
ONNX Runtime against PyTorch, and measure both.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out model.onnx
        [--end2end [--check-images 8]] [--input-shape H W] [--dynamic]
        [--latency-runs 20]

The structure is rebuilt from the checkpoint as tools/test.py rebuilds it
(a checkpoint that does not fit the config is refused).

--end2end writes one self-contained graph from the image (0-255, resized
and padded to H x W) to the final predictions: dets (N, max_det, 5) and
labels (N, max_det) for a detector, with box decoding, score threshold,
NMS and RoI Align inside as standard ONNX operators; the label map
seg (N, H, W) for a segmentor. Its detections are checked against the
model's own predict on --check-images test images.

Without it: model.onnx (backbone, neck and dense head up to its raw
outputs) and one model.<RoI head>.onnx per RoI head of a two-stage
detector; mmprune.deployment.OnnxRuntimeModel runs the model's own
post-processing in Python around them. This covers every model, rotated
and DETR-family detectors included.

Both write model.deploy.json beside: the layout, the check against
PyTorch and the latencies.
"""
import argparse
import os.path as osp

from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis.latency import (measure_onnxruntime_latency,
                                      measure_torch_latency,
                                      onnxruntime_providers, rois_at_test)
from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.deployment import (export_onnx, load_deployable_model,
                                manifest_path)
from mmprune.deployment.deploy_data import (dataset_loader, graph_inputs,
                                            test_pipeline_input_shape)
from mmprune.deployment.end2end import end2end_graph
from mmprune.deployment.end2end.export import export_end2end
from mmprune.utils import dump_json_atomic, read_config, resolve_device
from mmprune.utils.cli import add_cfg_options_arg, add_device_arg, tool_parser
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'config',
        help='the config the checkpoint was '
        'trained or pruned with')
    parser.add_argument('checkpoint', help='checkpoint (pruned or not)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=None,
        help='image size of the graph (default: the test '
        "pipeline's resize scale, else 640 640)")
    parser.add_argument(
        '--end2end',
        action='store_true',
        help='one graph from the image to the final detections or label '
        'map (a fixed input size)')
    parser.add_argument(
        '--check-images',
        type=int,
        default=8,
        help='--end2end: test images its predictions are checked on '
        'against PyTorch (a random image when the data is missing)')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='dynamic batch, height and width (not with --end2end)')
    parser.add_argument(
        '--latency-runs',
        type=int,
        default=20,
        help='timed runs per runtime (0: no latency)')
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='CPU threads of both runtimes (0: torch\'s)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing --out file')
    add_device_arg(parser)
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def test_input_shape(cfg) -> tuple:
    """(H, W) of the test pipeline's Resize, else 640x640."""
    return test_pipeline_input_shape(cfg) or (640, 640)


def check_images(cfg, model, shape, count: int) -> list:
    """Up to ``count`` test images as the end-to-end graph takes them;
    none (a random image is used) when the test data cannot be read."""
    if count <= 0:
        return []
    logger = MMLogger.get_current_instance()
    pad = end2end_graph(model, shape).preprocess['pad_pixel']
    try:
        loader = dataset_loader(cfg, 'test', shape)
        return [img for img, _ in graph_inputs(loader, shape, pad, count)]
    except (FileNotFoundError, OSError, KeyError) as e:
        logger.warning(f'the test data of "{cfg.filename}" cannot be read '
                       f'({type(e).__name__}: {e}); checking the export on a '
                       'random image instead')
        return []


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.out.endswith('.onnx'):
        raise ValueError(f'--out "{args.out}": must end with .onnx')
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError('--out is the checkpoint itself')
    if args.latency_runs < 0:
        raise ValueError(f'--latency-runs {args.latency_runs}: must be >= 0')
    if args.end2end and args.dynamic:
        raise ValueError('--end2end exports a fixed input size (its prior '
                         'boxes are constants of the graph): drop --dynamic')
    if args.check_images < 0:
        raise ValueError(f'--check-images {args.check_images}: must be >= 0')
    if args.threads < 0:
        raise ValueError(f'--threads {args.threads}: must be >= 0 (0: '
                         "torch's thread count)")
    device = resolve_device(args.device)
    cfg = read_config(args.config, args.cfg_options)
    check_checkpoint_path(args.checkpoint)
    check_input_shape(
        cfg.model,
        args.input_shape or test_input_shape(cfg),
        need_multiple=True)
    prepare_output_file(args.out, '--out', args.overwrite)
    logger = MMLogger.get_instance('mmprune.export', log_level='INFO')
    shape = tuple(args.input_shape or test_input_shape(cfg))
    model = load_deployable_model(cfg, args.checkpoint).to(device)
    image = None
    if args.end2end:
        # refused (rotated boxes, DETR, masks...) before any work
        end2end_graph(model, shape)
        images = check_images(cfg, model, shape, args.check_images)
        image = images[0].numpy() if images else None
        manifest = export_end2end(model, args.out, shape,
                                  [i.to(device) for i in images])
        logger.info(f'{args.out}: ONNX Runtime agrees with PyTorch on '
                    f'{manifest["check"]["images"]} image(s) ('
                    f'{manifest["check"]["source"]}): '
                    f'{manifest["check"]["summary"]}')
    else:
        manifest = export_onnx(model, args.out, shape, args.dynamic)
    for g in manifest.get('graphs', []):
        logger.info(f'{g["file"]}: ONNX Runtime agrees with PyTorch (max '
                    f'abs difference {g["max_abs_diff"]:.2g}, outputs up to '
                    f'{g["max_abs_output"]:.2g})')
    if args.latency_runs:
        torch_ms = measure_torch_latency(
            model, shape, runs=args.latency_runs, threads=args.threads)
        ort_ms = measure_onnxruntime_latency(
            args.out,
            runs=args.latency_runs,
            threads=args.threads,
            num_rois=rois_at_test(model),
            providers=onnxruntime_providers(model),
            image=image)
        manifest['latency'] = dict(
            torch=torch_ms.to_dict(),
            onnxruntime=ort_ms.to_dict(),
            rois_per_image=rois_at_test(model))
        dump_json_atomic(manifest, manifest_path(args.out))
        logger.info(f'latency at {shape[0]}x{shape[1]}, batch 1: PyTorch '
                    f'{torch_ms}; ONNX Runtime {ort_ms}')
    logger.info(f'wrote {args.out} and {manifest_path(args.out)}')


if __name__ == '__main__':
    main()
