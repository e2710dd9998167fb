r"""Measured latency of pruned checkpoints against the unpruned one, in
PyTorch and ONNX Runtime, each pruned model timed in alternation with the
unpruned model (``mmprune.analysis.latency.paired_latencies``: best round
of ``--rounds``, median of ``--runs`` each), one after the other in this
process. Each checkpoint is rebuilt as ``tools/test.py`` rebuilds it (its
pruned structure from the checkpoint).

    OMP_NUM_THREADS=2 python tools/benchmarks/pruned_checkpoints_latency.py \\
        CONFIG UNPRUNED.pth NAME=PRUNED_CONFIG:PRUNED.pth ... \\
        [--input-shape 640 640] [--rounds 3] [--runs 10]

Prints a markdown table: GFLOPs, ms and speed-up per runtime, and each
speed-up's ratio to the FLOPs reduction.
"""
import argparse
from typing import List, Optional

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis import module_breakdown
from mmprune.analysis.latency import paired_latencies
from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.deployment import load_deployable_model
from mmprune.utils import read_config
from mmprune.utils.cli import tool_parser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='the unpruned model\'s config')
    parser.add_argument('checkpoint', help='the unpruned checkpoint')
    parser.add_argument(
        'pruned',
        nargs='+',
        metavar='NAME=CONFIG:CKPT',
        help='pruned checkpoints with the config that '
        'rebuilds each')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=[640, 640])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--runs', type=int, default=10)
    args = parser.parse_args(argv)
    runs = []
    for item in args.pruned:
        name, sep, rest = item.partition('=')
        cfg, sep2, ckpt = rest.rpartition(':')
        if not (sep and sep2 and name and cfg and ckpt):
            parser.error(f'{item!r}: write each as NAME=CONFIG:CKPT')
        runs.append((name, cfg, ckpt))
    args.pruned = runs
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # every file is checked before any model is built
    check_checkpoint_path(args.checkpoint)
    for _, cfg, ckpt in args.pruned:
        check_checkpoint_path(ckpt)
        read_config(cfg)
    shape = tuple(args.input_shape)
    unpruned = load_deployable_model(read_config(args.config), args.checkpoint)
    flops_before = module_breakdown(unpruned, shape).total_flops
    print(f'| run | GFLOPs at {shape[0]}x{shape[1]} | PyTorch ms | PyTorch '
          'speed-up (/ FLOPs) | ONNX Runtime ms | ONNX Runtime speed-up '
          '(/ FLOPs) |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, cfg, ckpt in args.pruned:
        model = load_deployable_model(read_config(cfg), ckpt)
        flops = module_breakdown(model, shape).total_flops
        fr = flops_before / flops
        lat = paired_latencies(unpruned, model, shape, args.rounds, args.runs)
        cells = []
        for rt in ('torch', 'onnxruntime'):
            r = lat[rt]
            cells += [
                f'{r["before"]["median_ms"]:.1f} -> '
                f'{r["after"]["median_ms"]:.1f}',
                f'{r["speed_up"]:.2f}x ({r["speed_up"] / fr:.2f})'
            ]
        print(
            f'| {name} | {flops_before / 1e9:.2f} -> {flops / 1e9:.2f} '
            f'({fr:.2f}x) | ' + ' | '.join(cells) + ' |',
            flush=True)


if __name__ == '__main__':
    main()
