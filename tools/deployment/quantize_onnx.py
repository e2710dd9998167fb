"""Quantize an exported ONNX model to INT8 with ONNX Runtime's static
quantizer (QDQ format, per-channel int8 weights, uint8 activations).

    python tools/deployment/quantize_onnx.py CONFIG MODEL.onnx \
        [--out MODEL.int8.onnx] [--calib-images 200] \
        [--keep-float auto|none|PATTERN ...] [--method minmax]

Calibration runs the graph on --calib-images images of the config's train
set through its test pipeline (what the deployed model sees), resized to
the graph's input size. Random images are used only when that data cannot
be read, with a warning.

Box decoding, NMS and RoI Align stay in float. --keep-float auto (the
default) also keeps the network's final layers (those producing scores and
box offsets) in float; add fnmatch patterns of node names to keep more,
e.g. '*/bbox_head/rtm_cls*'. Writes the quantized model, its
.deploy.json (the float model's, with the report) and the report
MODEL.int8.quantization.json.
"""
import argparse
import itertools
import os.path as osp

import numpy as np
from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.deployment.deploy_data import dataset_loader, graph_inputs
from mmprune.deployment.onnx_export import read_manifest
from mmprune.deployment.quantization import copy_manifest, quantize_onnx
from mmprune.utils import dump_json_atomic, read_config
from mmprune.utils.cli import add_cfg_options_arg, tool_parser
from mmprune.utils.outputs import prepare_output_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'config',
        help='the config the model was exported '
        'from (its data calibrates)')
    parser.add_argument(
        'model', help='an --end2end export (.onnx with its '
        '.deploy.json)')
    parser.add_argument(
        '--out', help='the quantized model (default: MODEL.int8.onnx)')
    parser.add_argument(
        '--calib-images',
        type=int,
        default=200,
        help='calibration images from the train set')
    parser.add_argument(
        '--keep-float',
        nargs='+',
        default=['auto'],
        help="'auto': the final layers; 'none'; or node-name patterns")
    parser.add_argument(
        '--method',
        default='minmax',
        choices=['minmax', 'entropy', 'percentile'],
        help='calibration method')
    parser.add_argument(
        '--per-tensor',
        action='store_true',
        help='one weight scale per tensor instead of per channel')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an existing --out')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def calibration_images(cfg, manifest: dict, count: int):
    """``count`` images of the train set as the graph takes them, or random
    ones (with a warning) when the data cannot be read."""
    logger = MMLogger.get_current_instance()
    shape = tuple(manifest['input_shape'])
    pad = manifest['preprocess']['pad_pixel']
    try:
        loader = dataset_loader(cfg, 'train', shape, pipeline_of='test')
        images = (img.numpy()
                  for img, _ in graph_inputs(loader, shape, pad, count))
        first = next(images)
        logger.info(f'calibrating on {min(count, len(loader.dataset))} '
                    'train images through the test pipeline')
        return itertools.chain([first], images)
    except (FileNotFoundError, OSError, KeyError, StopIteration) as e:
        logger.warning(
            f'the train data of "{cfg.filename}" cannot be read '
            f'({type(e).__name__}: {e}): calibrating on {count} RANDOM '
            'images, which misjudges the activation ranges; quantize with '
            'the data for a model to ship')
        rng = np.random.default_rng(0)
        return (255 * rng.random((1, 3, *shape), dtype=np.float32)
                for _ in range(count))


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.calib_images < 1:
        raise ValueError(f'--calib-images {args.calib_images}: must be >= 1')
    if not osp.isfile(args.model):
        raise FileNotFoundError(f'model "{args.model}" not found')
    manifest = read_manifest(args.model)
    if not manifest.get('end2end'):
        raise ValueError(
            f'"{args.model}" is a split export; quantize an export made '
            'with tools/deployment/export_onnx.py --end2end')
    if 'quantization' in manifest:
        raise ValueError(f'"{args.model}" is already quantized')
    out = args.out or osp.splitext(args.model)[0] + '.int8.onnx'
    if osp.abspath(out) == osp.abspath(args.model):
        raise ValueError('--out is the model itself')
    prepare_output_file(out, '--out', args.overwrite)
    cfg = read_config(args.config, args.cfg_options)
    logger = MMLogger.get_instance('mmprune.quantize', log_level='INFO')
    images = calibration_images(cfg, manifest, args.calib_images)
    report = quantize_onnx(
        args.model,
        out,
        images,
        num_images=args.calib_images,
        keep_float=args.keep_float,
        method=args.method,
        per_channel=not args.per_tensor)
    copy_manifest(args.model, out, report)
    report_path = osp.splitext(out)[0] + '.quantization.json'
    dump_json_atomic(report, report_path)
    size = report['size_mb']
    logger.info(
        f'wrote {out} ({size["int8"]} MB, from {size["float"]} MB): '
        f'{report["quantized_weighted_nodes"]} of {report["weighted_nodes"]} '
        'weighted layers in INT8, calibrated on '
        f'{report["calibration"]["images"]} images; report {report_path}')


if __name__ == '__main__':
    main()
