r"""Parameters and FLOPs per module of a config's model, as counts and as %
of the total; with --compare, the per-module and total deltas against a
second config side by side.

    python tools/analysis_tools/param_breakdown.py \
        configs/lsknet/lsk_s_fpn_1x_dota_le90.py \
        --compare configs/pruning/lsknet/lsk_s_fpn_1x_dota_le90_pruneB.py
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis import (ModuleBreakdown, compare_breakdowns,
                              module_breakdown)
from mmprune.engine.run_config import check_fpn_width
from mmprune.models.builder import build_model_from
from mmprune.utils import dump_json_atomic, read_config
from mmprune.utils.cli import add_cfg_options_arg, tool_parser
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument(
        '--compare',
        metavar='CONFIG2',
        help='a second config to set beside the first')
    parser.add_argument(
        '--depth',
        type=int,
        default=4,
        help='deepest module level listed (4: '
        'e.g. backbone.block1.0.mlp)')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        default=[1024, 1024],
        help='image size for FLOPs')
    parser.add_argument(
        '--no-flops',
        action='store_true',
        help='count parameters only (no forward pass)')
    parser.add_argument(
        '--json',
        metavar='OUT',
        help='also write every module\'s counts as JSON')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing --json file')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> List[Config]:
    """Every option, and every config read, before any model is built."""
    if args.depth < 1:
        raise ValueError(f'--depth {args.depth}: must be >= 1')
    if not args.no_flops and min(args.input_shape) < 1:
        raise ValueError(f'--input-shape {args.input_shape[0]} '
                         f'{args.input_shape[1]}: H and W must be positive '
                         '(detectors need at least their largest stride, '
                         'typically 32 to 128 px)')
    cfgs = [
        read_config(c, args.cfg_options, what=what)
        for c, what in ((args.config, 'config'),
                        (args.compare, '--compare config')) if c is not None
    ]
    for cfg in cfgs:
        check_fpn_width(cfg)
        if not args.no_flops:
            check_input_shape(cfg.model, args.input_shape)
    if args.json:
        prepare_output_file(args.json, '--json', args.overwrite)
    return cfgs


def build(cfg: Config, input_shape, no_flops) -> ModuleBreakdown:
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = build_model_from(cfg)
    # SyncBN cannot run outside a process group on CPU; it counts the same
    model = revert_sync_batchnorm(model)
    try:
        return module_breakdown(model,
                                None if no_flops else tuple(input_shape))
    except RuntimeError as e:
        raise ValueError(
            f'--input-shape {input_shape[0]} {input_shape[1]}: the forward '
            f'of "{cfg.filename}" fails at this size ({e}); detectors need '
            'at least their largest stride, typically 32 to 128 px') from None


def _fmt(n: int, unit: float, suffix: str) -> str:
    return f'{n / unit:.3f}{suffix}'


def _pct(n: int, total: int) -> str:
    return f'{100.0 * n / total:.2f}%' if total else '-'


def single_table(b: ModuleBreakdown, depth: int) -> List[str]:
    with_flops = b.total_flops > 0
    lines = [
        f'{"module":<58} {"params":>10} {"%":>7}' +
        (f' {"FLOPs":>10} {"%":>7}' if with_flops else '')
    ]
    for name in b.rows(depth) + ['']:
        p, f = b.params.get(name, 0), b.flops.get(name, 0)
        indent = '  ' * name.count('.') if name else ''
        lines.append(f'{(indent + name) if name else "total":<58} '
                     f'{_fmt(p, 1e6, "M"):>10} {_pct(p, b.total_params):>7}' +
                     (f' {_fmt(f, 1e9, "G"):>10} {_pct(f, b.total_flops):>7}'
                      if with_flops else ''))
    return lines


def compare_table(a: ModuleBreakdown, b: ModuleBreakdown,
                  depth: int) -> List[str]:
    with_flops = a.total_flops > 0
    lines = [
        f'{"module":<52} {"params A":>9} {"params B":>9} '
        f'{"delta":>9} {"d%":>8}' +
        (f' {"FLOPs A":>9} {"FLOPs B":>9} {"d%":>8}' if with_flops else '')
    ]
    names = [
        n for n in compare_breakdowns(a, b)
        if n and n.count('.') < depth and (a.params.get(n, 0) or b.params.get(
            n, 0) or a.flops.get(n, 0) or b.flops.get(n, 0))
    ] + ['']

    def dpct(x, y):
        return f'{100.0 * (y - x) / x:+.1f}%' if x else ('new' if y else '-')

    for name in names:
        pa, pb = a.params.get(name, 0), b.params.get(name, 0)
        fa, fb = a.flops.get(name, 0), b.flops.get(name, 0)
        indent = '  ' * name.count('.') if name else ''
        lines.append(f'{(indent + name) if name else "total":<52} '
                     f'{_fmt(pa, 1e6, "M"):>9} {_fmt(pb, 1e6, "M"):>9} '
                     f'{_fmt(pb - pa, 1e6, "M"):>9} {dpct(pa, pb):>8}' +
                     (f' {_fmt(fa, 1e9, "G"):>9} {_fmt(fb, 1e9, "G"):>9} '
                      f'{dpct(fa, fb):>8}' if with_flops else ''))
    return lines


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfgs = check_args(args)
    a = build(cfgs[0], args.input_shape, args.no_flops)
    b = build(cfgs[1], args.input_shape, args.no_flops) \
        if args.compare else None
    shape = 'no FLOPs' if args.no_flops else \
        f'FLOPs at {args.input_shape[0]}x{args.input_shape[1]}'
    print(f'A: {args.config} ({shape})')
    if b is None:
        print('\n'.join(single_table(a, args.depth)))
    else:
        print(f'B: {args.compare}')
        print('\n'.join(compare_table(a, b, args.depth)))
        saved = a.total_params - b.total_params
        flops = '' if args.no_flops else (
            f' and {(a.total_flops - b.total_flops) / 1e9:.3f} GFLOPs '
            f'({_pct(a.total_flops - b.total_flops, a.total_flops)})')
        print(f'B saves {saved / 1e6:.3f}M parameters '
              f'({_pct(saved, a.total_params)} of A){flops}')
    if args.json:
        out = dict(
            config=args.config,
            input_shape=list(args.input_shape),
            params=a.params,
            flops=a.flops)
        if b is not None:
            out['compare'] = dict(
                config=args.compare, params=b.params, flops=b.flops)
        dump_json_atomic(out, args.json)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
