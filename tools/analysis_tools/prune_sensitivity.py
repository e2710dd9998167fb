r"""Layer-wise pruning sensitivity: prune each unit (a backbone stage, a neck
block, a head branch, or any module-name pattern) alone at several ratios
and measure how far the training loss rises and how many FLOPs it saves;
optionally choose non-uniform ratios for a FLOPs target from that.

    python tools/analysis_tools/prune_sensitivity.py CONFIG CHECKPOINT \
        [--method l1] [--sensitivity-ratios 0.25 0.5 0.75] \
        [--units PATTERN ...] [--gradient-batches 4] [--speed-up S] \
        [--out DIR] [--sensitivity-cache DIR | --no-sensitivity-cache]

The flags are ``tools/prune.py``'s where they mean the same, with the same
defaults.

Writes ``DIR/prune_sensitivity.json`` (every point, and with
``--speed-up`` the chosen ``layer_ratios``, why each was chosen, and the
speed-up measured by pruning a copy with them) and
``DIR/prune_sensitivity.png`` (one curve per unit: loss increase against
FLOPs saved). The chosen ratios go into a pruning config as the
``layer_ratios`` of ``StructuredPruningHook`` (or ``layer_ratios='auto'``
lets the hook measure and choose them itself).
"""
import argparse
import copy
import math
import os.path as osp
from typing import List, Optional

from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis.pruning_meter import PruningMeter
from mmprune.core.checkpoint_reader import (check_state_fits, read_checkpoint,
                                            state_dict_of)
from mmprune.core.module_patterns import check_pattern, matching_modules
from mmprune.core.structured import (PruningOptions, prune_model,
                                     pruning_method_names)
from mmprune.core.structured.options import PRUNABLE
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.core.structured.sensitivity import (default_units,
                                                 fit_layer_ratios, mean_loss,
                                                 prune_sensitivity, unit_label)
from mmprune.datasets.train_batches import train_batches
from mmprune.models.builder import build_model_from
from mmprune.utils import (atomic_write, config_name, dump_json_atomic,
                           read_config, resolve_device)
from mmprune.utils.cli import (add_cfg_options_arg, add_device_arg,
                               add_sensitivity_cache_args,
                               sensitivity_cache_of, tool_parser)
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_dir


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--method',
        default=PruningOptions.default('method'),
        choices=pruning_method_names())
    parser.add_argument(
        '--sensitivity-ratios',
        type=float,
        nargs='+',
        default=PruningOptions.default('sensitivity_ratios'),
        help='the ratios each block is pruned alone at')
    parser.add_argument(
        '--units',
        nargs='+',
        metavar='PATTERN',
        help='module-name patterns (default: one per '
        'block, e.g. backbone.stage1, neck.top_down_blocks)')
    parser.add_argument(
        '--gradient-batches',
        type=int,
        default=PruningOptions.default('gradient_batches'),
        help='training batches the loss is averaged over')
    parser.add_argument(
        '--round-to', type=int, default=PruningOptions.default('round_to'))
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='H W for FLOPs (default: a training batch)')
    parser.add_argument(
        '--speed-up',
        type=float,
        help='choose per-unit ratios for this FLOPs '
        'reduction and check them by pruning a copy')
    add_sensitivity_cache_args(parser)
    parser.add_argument(
        '--out',
        help='output folder (default: '
        'work_dirs/<config name>_sensitivity)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the results of an earlier run in --out')
    add_device_arg(parser)
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """What can be checked before any file is read."""
    ratios = args.sensitivity_ratios
    if any(not 0 < r < 1 for r in ratios):  # NaN fails this too
        raise ValueError(
            f'--sensitivity-ratios {ratios}: each must be in (0, 1)')
    if args.gradient_batches < 1:
        raise ValueError(
            f'--gradient-batches {args.gradient_batches}: must be >= 1')
    if args.speed_up is not None and not 1 < args.speed_up < math.inf:
        raise ValueError(f'--speed-up {args.speed_up}: a FLOPs reduction '
                         'factor, must be > 1 and finite')
    for p in args.units or []:
        check_pattern(p, '--units')
    resolve_device(args.device)


def plot_sensitivity(sensitivity: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')  # no display on training machines
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for unit in sensitivity['units']:
        pts = [p for p in sensitivity['points'] if p['unit'] == unit]
        ax.plot(
            [0] + [100 * p['flops_saved'] for p in pts],
            [0] + [p['loss_increase'] for p in pts],
            marker='o',
            label=unit_label(unit))
    ax.set_xlabel('FLOPs saved (%)')
    ax.set_ylabel('training loss increase')
    ax.set_title(f'{sensitivity["method"]}: each unit pruned alone at '
                 f'ratios {sensitivity["ratios"]}')
    ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=100))
    finally:
        plt.close(fig)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    check_args(args)
    cfg = read_config(args.config, args.cfg_options)
    check_input_shape(cfg.model, args.input_shape)
    out = args.out or osp.join('work_dirs',
                               config_name(args.config) + '_sensitivity')
    prepare_output_dir(out, '--out', ('prune_sensitivity.json', ),
                       args.overwrite)
    checkpoint = read_checkpoint(args.checkpoint)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    logger = MMLogger.get_instance('mmprune.sensitivity', log_level='INFO')
    model = build_model_from(cfg)
    # before the batches: the data preprocessor moves them to its device
    model.to(resolve_device(args.device))
    for p in args.units or []:
        matching_modules(model, p, '--units', PRUNABLE)
    stream = train_batches(cfg, model)
    batches = [next(stream) for _ in range(args.gradient_batches)]
    earlier = PrunedStructure.from_checkpoint(
        checkpoint, f'checkpoint "{args.checkpoint}"')
    if earlier is not None:
        replay_pruning_history(model, batches[0], earlier.history)
    state = state_dict_of(checkpoint)
    check_state_fits(
        model,
        state,
        args.checkpoint,
        model_desc=f'the model of config "{args.config}"')
    model.load_state_dict(state, strict=True)
    del checkpoint, state
    shape = tuple(args.input_shape or batches[0]['inputs'].shape[-2:])

    flops = PruningMeter(shape).flops
    units = args.units or default_units(model)
    logger.info(f'pruning {len(units)} units alone at ratios '
                f'{args.sensitivity_ratios} '
                f'({args.method}), loss over {args.gradient_batches} batches')
    result = prune_sensitivity(
        model,
        batches,
        flops,
        units,
        args.sensitivity_ratios,
        args.method,
        args.round_to,
        cache_dir=sensitivity_cache_of(args))
    result.update(
        config=args.config,
        checkpoint=args.checkpoint,
        input_shape=list(shape))
    for unit in units:
        pts = [p for p in result['points'] if p['unit'] == unit]
        logger.info(f'{unit_label(unit)}: ' + ', '.join(
            f'{p["ratio"]:.2f} -> loss +{p["loss_increase"]:.3f} '
            f'({100 * p["flops_saved"]:.1f}% FLOPs)' for p in pts))
    if args.speed_up is not None:

        def prune_copy(ratios):
            trial = copy.deepcopy(model)
            result = prune_model(
                trial,
                batches[0],
                args.method,
                layer_ratios=ratios,
                round_to=args.round_to,
                gradient_data=batches,
                flops_fn=flops)
            return trial, result.speed_up

        # the same checked allocation as allocation='sensitivity'
        ratios, choices, tries = fit_layer_ratios(result, args.speed_up,
                                                  lambda r: prune_copy(r)[1])
        trial, reached = prune_copy(ratios)
        result['allocation'] = dict(
            speed_up=args.speed_up,
            layer_ratios=ratios,
            choices=choices,
            tries=tries,
            measured_speed_up=reached,
            loss_increase=mean_loss(trial, batches) - result['base_loss'],
            target_reached=reached >= args.speed_up * (1 - 1e-6))
        logger.info(
            f'allocation for {args.speed_up}x: layer_ratios={ratios}: '
            f'measured {reached:.2f}x fewer FLOPs, loss +'
            f'{result["allocation"]["loss_increase"]:.3f}' +
            ('' if result['allocation']['target_reached'] else
             ' (TARGET NOT REACHED: the largest measured ratios are not '
             'enough; add units or larger --ratios)'))
    dump_json_atomic(result, osp.join(out, 'prune_sensitivity.json'))
    plot_sensitivity(result, osp.join(out, 'prune_sensitivity.png'))
    logger.info(
        f'prune sensitivity: {osp.join(out, "prune_sensitivity.json")}')


if __name__ == '__main__':
    main()
