r"""Where the inference time goes, part by part (backbone stem and stages,
neck, heads, post-processing), in PyTorch and in ONNX Runtime; with a
second (pruned) checkpoint, each part's latency speed-up beside its FLOPs
reduction, so that a latency gain smaller than the FLOPs gain can be traced
to the parts that keep their time.

    python tools/analysis_tools/latency_breakdown.py CONFIG CHECKPOINT \
        [PRUNED_CHECKPOINT] [--input-shape 640 640] [--runs 10] \
        [--json breakdown.json]
"""
import argparse
import os.path as osp
import tempfile
from typing import List, Optional

import torch
from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis import module_breakdown
from mmprune.analysis.latency import rois_at_test
from mmprune.analysis.latency_breakdown import (REST, breakdown_table,
                                                onnxruntime_latency_breakdown,
                                                torch_latency_breakdown)
from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.deployment import export_onnx, load_deployable_model
from mmprune.utils import dump_json_atomic, read_config, resolve_device
from mmprune.utils.cli import add_cfg_options_arg, add_device_arg, tool_parser
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument(
        'checkpoint', help='the unpruned (or any) '
        'checkpoint')
    parser.add_argument(
        'pruned',
        nargs='?',
        help='a pruned checkpoint of '
        'the same config, set beside the first')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=[640, 640])
    parser.add_argument(
        '--runs', type=int, default=10, help='timed runs per part and runtime')
    parser.add_argument(
        '--runtime',
        nargs='+',
        choices=['torch', 'onnxruntime'],
        default=['torch', 'onnxruntime'])
    parser.add_argument(
        '--json', metavar='OUT', help='also write the breakdowns as JSON')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing --json file')
    add_device_arg(parser)
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def breakdowns(cfg, checkpoint: str, shape, runs: int, runtimes: List[str],
               device: torch.device) -> dict:
    model = load_deployable_model(cfg, checkpoint).to(device)
    flops = module_breakdown(model, shape).flops
    out = dict(flops={k or 'total': v for k, v in flops.items()})
    if 'torch' in runtimes:
        out['torch'] = torch_latency_breakdown(model, shape, runs)
    if 'onnxruntime' in runtimes:
        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'model.onnx')
            export_onnx(model, path, shape)
            out['onnxruntime'] = onnxruntime_latency_breakdown(
                model, path, runs, num_rois=rois_at_test(model))
    return out


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if min(args.input_shape) < 1 or args.runs < 1:
        raise ValueError('--input-shape and --runs must be positive')
    device = resolve_device(args.device)
    for c in [args.checkpoint] + ([args.pruned] if args.pruned else []):
        check_checkpoint_path(c)
    cfg = read_config(args.config, args.cfg_options)
    check_input_shape(cfg.model, args.input_shape, need_multiple=True)
    if args.json:
        prepare_output_file(args.json, '--json', args.overwrite)
    logger = MMLogger.get_instance(
        'mmprune.latency_breakdown', log_level='INFO')
    shape = tuple(args.input_shape)
    before = breakdowns(cfg, args.checkpoint, shape, args.runs, args.runtime,
                        device)
    after = breakdowns(cfg, args.pruned, shape, args.runs, args.runtime,
                       device) if args.pruned else None
    for rt in args.runtime:
        what = ('a full predict (hooks); the rest is post-processing, '
                'the data preprocessor and glue' if rt == 'torch' else
                'node profile of the exported graphs; post-processing runs '
                f'outside ONNX Runtime, so "{REST}" holds only unassigned '
                'nodes')
        print(f'\n{rt} at {shape[0]}x{shape[1]}, batch 1, median of '
              f'{args.runs} runs: {what}\n')
        print('\n'.join(
            breakdown_table(before[rt], after and after[rt], before['flops'],
                            after and after['flops'])))
    if args.json:
        dump_json_atomic(
            dict(before=before, after=after, input_shape=list(shape)),
            args.json)
        logger.info(f'wrote {args.json}')


if __name__ == '__main__':
    main()
