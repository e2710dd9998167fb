"""Export an mmdet, mmrotate or mmseg model (pruned or not) to ONNX, check
ONNX Runtime against PyTorch, and measure both.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out model.onnx
        [--input-shape H W] [--dynamic] [--latency-runs 20]

The structure is rebuilt from the checkpoint as tools/test.py rebuilds it
(a checkpoint that does not fit the config is refused). Writes model.onnx
(backbone, neck and dense head up to its raw outputs), one
model.<RoI head>.onnx per RoI head of a two-stage detector, and
model.deploy.json (what each graph replaces, its output layout, the
largest ONNX Runtime / PyTorch difference and the latencies). Prediction
with the graphs: mmprune.deployment.OnnxRuntimeModel, which runs the
model's own post-processing (decoding, NMS, RoI Align, resizing) in
Python.
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
        '--dynamic',
        action='store_true',
        help='dynamic batch, height and width')
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
    pipeline = (cfg.get('test_dataloader') or {}).get('dataset', {}).get(
        'pipeline', []) if cfg.get('test_dataloader') else []
    for t in pipeline:
        if 'Resize' in str(t.get('type', '')) and t.get('scale'):
            scale = t['scale']
            if isinstance(scale, int):
                return scale, scale
            w, h = scale
            return int(h), int(w)
    return 640, 640


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.out.endswith('.onnx'):
        raise ValueError(f'--out "{args.out}": must end with .onnx')
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError('--out is the checkpoint itself')
    if args.latency_runs < 0:
        raise ValueError(f'--latency-runs {args.latency_runs}: must be >= 0')
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
    manifest = export_onnx(model, args.out, shape, args.dynamic)
    for g in manifest['graphs']:
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
            providers=onnxruntime_providers(model))
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
