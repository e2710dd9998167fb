"""Test exported and quantized ONNX models on the config's test set with
the config's own evaluator, beside the PyTorch checkpoint.

    python tools/deployment/test_onnx.py CONFIG [MODEL.onnx ...] \
        [--checkpoint CKPT] [--input-shape H W] [--max-images N] \
        [--out results.json]

An --end2end export (FP32 or INT8) runs alone in ONNX Runtime. A split
export needs --checkpoint, whose model supplies the post-processing in
Python. With --checkpoint the PyTorch model is tested too, at the ONNX
models' input size (or --input-shape), so that the rows compare one
model in each runtime. The test pipeline's Resize is set to each graph's
input size: a graph exported at a smaller size tests the same checkpoint
at that size.
"""
import argparse
import os.path as osp

from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.deployment import OnnxRuntimeModel, load_deployable_model
from mmprune.deployment.deploy_data import test_pipeline_input_shape
from mmprune.deployment.end2end.predictor import End2EndOnnxModel
from mmprune.deployment.evaluation import (evaluate, main_metric,
                                           torch_predictor)
from mmprune.deployment.onnx_export import read_manifest
from mmprune.utils import dump_json_atomic, read_config
from mmprune.utils.cli import add_cfg_options_arg, tool_parser
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_file


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument(
        'models',
        nargs='*',
        help='exported .onnx files (each with its '
        '.deploy.json)')
    parser.add_argument(
        '--checkpoint',
        help='the checkpoint the models were exported '
        'from: tested in PyTorch too')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="the PyTorch model's test size (default: the ONNX models', "
        "else the test pipeline's)")
    parser.add_argument(
        '--max-images',
        type=int,
        default=0,
        help='test on the first N images only (0: all)')
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='ONNX Runtime threads (0: its default)')
    parser.add_argument('--out', help='a JSON file for the results')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an existing --out')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.models and not args.checkpoint:
        raise ValueError('nothing to test: give ONNX models, --checkpoint, '
                         'or both')
    if args.max_images < 0:
        raise ValueError(f'--max-images {args.max_images}: must be >= 0')
    manifests = {}
    for path in args.models:
        if not osp.isfile(path):
            raise FileNotFoundError(f'model "{path}" not found')
        manifests[path] = read_manifest(path)
        if not manifests[path].get('end2end') and not args.checkpoint:
            raise ValueError(
                f'"{path}" is a split export: its post-processing runs in '
                'Python with the model, so give --checkpoint')
    if args.checkpoint:
        check_checkpoint_path(args.checkpoint)
    if args.out:
        prepare_output_file(args.out, '--out', args.overwrite)
    cfg = read_config(args.config, args.cfg_options)
    logger = MMLogger.get_instance('mmprune.test_onnx', log_level='INFO')
    model = None
    if args.checkpoint:
        model = load_deployable_model(cfg, args.checkpoint)
    shapes = [tuple(m['input_shape']) for m in manifests.values()]
    torch_shape = tuple(args.input_shape) if args.input_shape else (
        shapes[0] if shapes else test_pipeline_input_shape(cfg))
    if model is not None and torch_shape:
        check_input_shape(cfg.model, torch_shape)
    rows = []
    if model is not None:
        logger.info(f'PyTorch, {args.checkpoint}, at {torch_shape}')
        metrics = evaluate(cfg, torch_predictor(model), torch_shape,
                           args.max_images)
        rows.append(
            dict(
                model=args.checkpoint,
                runtime='pytorch',
                input_shape=list(torch_shape or []),
                metrics=metrics))
    for path, manifest in manifests.items():
        shape = tuple(manifest['input_shape'])
        quant = 'int8' if 'quantization' in manifest else 'fp32'
        logger.info(f'ONNX Runtime ({quant}), {path}, at {shape}')
        if manifest.get('end2end'):
            predict = End2EndOnnxModel(path, args.threads).predict
        else:
            predict = OnnxRuntimeModel(model, path, args.threads).predict
        metrics = evaluate(cfg, predict, shape, args.max_images)
        rows.append(
            dict(
                model=path,
                runtime=f'onnxruntime-{quant}',
                input_shape=list(shape),
                metrics=metrics))
    key = main_metric(rows[0]['metrics'])[0]
    lines = [
        f'| model | runtime | input | {key} |', '| --- | --- | --- | --- |'
    ]
    for r in rows:
        size = 'x'.join(map(str, r['input_shape']))
        lines.append(f'| {r["model"]} | {r["runtime"]} | {size} | '
                     f'{r["metrics"].get(key, float("nan")):.4f} |')
    logger.info('\n' + '\n'.join(lines))
    if args.out:
        dump_json_atomic(dict(metric=key, rows=rows), args.out)
        logger.info(f'wrote {args.out}')


if __name__ == '__main__':
    main()
