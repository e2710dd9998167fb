r"""Prune a trained checkpoint once, offline, and write the pruned checkpoint
with its report; finetune it later with the stock ``tools/train.py``.

    python tools/prune.py CONFIG CHECKPOINT --method l1 --speed-up 2 \
        [--round-to 8|measured] [--out DIR] [--synthetic-batch] \
        [--strict-target]
    python tools/prune.py CONFIG CHECKPOINT --latency-speed-up 1.8 \
        [--latency-runtime onnxruntime|torch] [--latency-rounds 3]

``DIR/pruned.pth`` carries the pruned structure (key ``pruning``), so any
config rebuilds the pruned model when it loads it (``load_from`` for a
finetune, or ``tools/test.py CONFIG DIR/pruned.pth``). Without the training
data on disk, data-free criteria trace on a synthetic batch in the model's
own format.
"""
import argparse
import copy
import dataclasses
import os
import os.path as osp

from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis.pruning_meter import PruningMeter
from mmprune.analysis.pruning_report import PruningReport
from mmprune.core.checkpoint_reader import (check_state_fits, read_checkpoint,
                                            state_dict_of)
from mmprune.core.criteria import criteria_with
from mmprune.core.structured import (PruningOptions, prune_model,
                                     pruning_method_names)
from mmprune.core.structured.layers import (check_something_to_prune,
                                            layer_widths)
from mmprune.core.structured.options import ALLOCATIONS, AUTO, LATENCY_RUNTIMES
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.datasets.train_batches import batches_or_synthetic
from mmprune.engine.finetune_config import (applied_schedule,
                                            write_finetune_config)
from mmprune.engine.finetune_schedule import NoScheduleError, finetune_schedule
from mmprune.models.builder import build_model_from
from mmprune.models.fresh_weights import reinitialize
from mmprune.utils import (config_name, read_config, resolve_device,
                           save_checkpoint_atomic)
from mmprune.utils.cli import (add_cfg_options_arg, add_device_arg,
                               add_sensitivity_cache_args,
                               sensitivity_cache_of, tool_parser)
from mmprune.utils.device import device_name
from mmprune.utils.input_size import check_input_shape
from mmprune.utils.outputs import prepare_output_dir


def _round_to(value: str):
    """An integer, or 'measured' (checked with the other options)."""
    try:
        return int(value)
    except ValueError:
        return value


def build_parser() -> argparse.ArgumentParser:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument(
        'checkpoint',
        help='the trained checkpoint (read '
        'with weights_only=True, never modified)')
    parser.add_argument(
        '--method',
        default=PruningOptions.default('method'),
        choices=pruning_method_names())
    parser.add_argument(
        '--importance',
        choices=criteria_with('channel'),
        help='the criterion ranking channels instead of '
        "the method's")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        '--ratio', type=float, help='share of channels removed, in [0, 1)')
    target.add_argument(
        '--speed-up', type=float, help='FLOPs reduction factor, > 1')
    target.add_argument(
        '--latency-speed-up',
        type=float,
        help='measured latency reduction factor, > 1, '
        'reached step by step on --latency-runtime')
    parser.add_argument(
        '--latency-runtime',
        default=PruningOptions.default('latency_runtime'),
        choices=LATENCY_RUNTIMES,
        help='where --latency-speed-up is measured, on --device')
    parser.add_argument(
        '--latency-rounds',
        type=int,
        default=PruningOptions.default('latency_rounds'),
        help='each latency measurement of the target times '
        'the unpruned and the pruned model in alternation '
        'this many times (fastest round each); a step that '
        'meets the target is measured again to confirm it')
    parser.add_argument(
        '--allocation',
        default=PruningOptions.default('allocation'),
        choices=ALLOCATIONS,
        help='how a --speed-up or --latency-speed-up is '
        'spread over the layers: equal steps for every '
        'group (uniform), or ratios chosen from each block '
        'pruned alone (sensitivity: loss on --gradient-batches '
        'batches; sensitivity_time: for a latency target the '
        'time each saves, measured); auto: sensitivity for '
        '--speed-up, uniform otherwise')
    parser.add_argument(
        '--sensitivity-ratios',
        type=float,
        nargs='+',
        default=PruningOptions.default('sensitivity_ratios'),
        help='the ratios each block is pruned alone at for '
        '--allocation sensitivity')
    add_sensitivity_cache_args(parser)
    parser.add_argument(
        '--round-to',
        type=_round_to,
        default=PruningOptions.default('round_to'),
        help='channel counts stay multiples of it, or '
        '"measured": the multiple whose widths cost the least time per '
        'multiply-add on --latency-runtime, timed on the model\'s heaviest '
        'convolutions and cached per machine')
    parser.add_argument(
        '--max-layer-ratio',
        type=float,
        default=PruningOptions.default('max_layer_ratio'))
    parser.add_argument(
        '--max-steps',
        type=int,
        default=PruningOptions.default('max_steps'),
        help='the most steps a speed-up target may take')
    parser.add_argument('--global-pruning', action='store_true')
    parser.add_argument(
        '--prune-stem',
        action='store_true',
        help='prune the output channels of the layers that '
        'read the image too (default: kept)')
    parser.add_argument(
        '--ignored',
        nargs='*',
        default=PruningOptions.default('ignored'),
        help='module-name patterns left unpruned')
    parser.add_argument(
        '--gradient-batches',
        type=int,
        default=PruningOptions.default('gradient_batches'),
        help='train batches for group_taylor/group_hessian')
    parser.add_argument(
        '--strict-target',
        action='store_true',
        help='an unreached --speed-up is an error (nothing '
        'is written) instead of a warning in the report')
    parser.add_argument(
        '--input-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='H W for FLOPs and latency (default: the size '
        'of a training batch)')
    parser.add_argument(
        '--synthetic-batch',
        action='store_true',
        help='trace on a synthetic batch in the model\'s own format instead '
        'of the training data (used by itself when the data is missing; '
        'not for gradient criteria)')
    parser.add_argument(
        '--no-latency',
        action='store_true',
        help='skip the latency before and after (an ONNX export and timing '
        'of each model; FLOPs are still measured)')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help='re-initialise the pruned model\'s weights (the pruned '
        'architecture trained from scratch, for comparison)')
    parser.add_argument(
        '--base-schedule',
        action='store_true',
        help='the finetune config keeps your config\'s whole schedule '
        '(default: 1/8 of its budget at its peak rate, cosine to zero; '
        'see docs/en/user_guides/recover_accuracy.md)')
    parser.add_argument(
        '--out',
        help='output folder (default: '
        'work_dirs/<config name>_pruned)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the results of an earlier run in --out')
    add_device_arg(parser)
    add_cfg_options_arg(parser)
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# what a run writes into --out (the finetune config is named after the
# config; see finetune_config_path)
RESULTS = ('pruned.pth', 'pruning_results.json')


def check_args(args: argparse.Namespace) -> PruningOptions:
    """Every option that can be checked without the model, before any
    file is read: the pruning options, the shape, the output folder."""
    # the flags named as PruningOptions fields are its options, checked
    # there (one place for the hook, prune_model and this tool)
    fields = {f.name for f in dataclasses.fields(PruningOptions)}
    options = PruningOptions.from_dict({
        k: v
        for k, v in vars(args).items() if k in fields
    })
    resolve_device(args.device)
    if args.input_shape is not None and min(args.input_shape) < 1:
        raise ValueError(f'--input-shape {args.input_shape[0]} '
                         f'{args.input_shape[1]}: H and W must be positive')
    if args.synthetic_batch and options.criterion.needs_gradients:
        raise ValueError(f'--synthetic-batch with --method {args.method}: '
                         'a gradient criterion ranks channels by the loss '
                         'on real training data, not on a synthetic batch')
    out = osp.join(out_dir_of(args), 'pruned.pth')
    if osp.abspath(out) == osp.abspath(args.checkpoint):
        raise ValueError(f'--out "{out_dir_of(args)}" would overwrite the '
                         'source checkpoint: choose another folder')
    if osp.exists(out_dir_of(args)) and not osp.isdir(out_dir_of(args)):
        raise ValueError(f'--out "{out_dir_of(args)}" is a file, not a '
                         'folder')
    return options


def finetune_config_path(args: argparse.Namespace) -> str:
    """``DIR/<config name>_finetune.py``."""
    return osp.join(
        out_dir_of(args),
        config_name(args.config) + '_finetune.py')


def next_commands(finetune: str) -> str:
    """What to run after pruning: finetune (in ``DIR/finetune``), test,
    export."""
    work = osp.join(osp.dirname(finetune), 'finetune')
    last = f'$(cat {work}/last_checkpoint)'
    return '\n'.join([
        'Next: finetune the pruned model (any OpenMMLab tools/train.py '
        'works), test it, export it:',
        f'  python tools/train.py {finetune} --work-dir {work}',
        f'  python tools/test.py {finetune} {last}',
        f'  python tools/deployment/export_onnx.py {finetune} {last} '
        f'--out {osp.dirname(finetune)}/model.onnx',
    ])


def out_dir_of(args: argparse.Namespace) -> str:
    return args.out or osp.join('work_dirs',
                                config_name(args.config) + '_pruned')


def main(argv=None) -> None:
    args = parse_args(argv)
    options = check_args(args)
    cfg = read_config(args.config, args.cfg_options)
    check_input_shape(cfg.model, args.input_shape)
    schedule = None
    if not (args.base_schedule or args.random_init):
        try:
            schedule = finetune_schedule(cfg)
        except NoScheduleError as e:
            raise NoScheduleError(f'config "{args.config}": {e}; give '
                                  '--base-schedule to keep its own') from None
    # the output folder, before the work: created and writable, and no
    # earlier result replaced without --overwrite
    prepare_output_dir(out_dir_of(args), '--out', RESULTS, args.overwrite)
    checkpoint = read_checkpoint(args.checkpoint)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    logger = MMLogger.get_instance('mmprune.prune', log_level='INFO')

    model = build_model_from(cfg)
    options.check_model(model)
    check_something_to_prune(model, options)
    # before the batches: the model's data preprocessor moves them to the
    # model's device
    model.to(resolve_device(args.device))
    needs_gradients = options.criterion.needs_gradients
    batches, source = batches_or_synthetic(
        cfg,
        model,
        args.synthetic_batch,
        args.input_shape,
        needs_real_data=needs_gradients,
        what=f'tools/prune.py --method {args.method}')
    data = next(batches)
    if source != 'train_dataloader' and args.allocation == AUTO and \
            options.allocation != 'uniform':
        # the scan's signal is the training loss; a synthetic batch's says
        # little about the trained task
        options = options.replace(allocation='uniform')
        logger.warning('--allocation auto: no training data, so equal steps '
                       '(uniform) instead of sensitivity allocation, which '
                       'measures the training loss')
    earlier = PrunedStructure.from_checkpoint(
        checkpoint, f'checkpoint "{args.checkpoint}"')
    if earlier is not None:
        # a pruned checkpoint: rebuild its structure, then prune further
        replay_pruning_history(model, data, earlier.history)
    state = state_dict_of(checkpoint)
    check_state_fits(
        model,
        state,
        args.checkpoint,
        model_desc=f'the model of config "{args.config}"')
    model.load_state_dict(state, strict=True)
    del checkpoint, state
    shape = tuple(args.input_shape or data['inputs'].shape[-2:])
    meter = PruningMeter(shape, args.latency_runtime)
    grads = ([next(batches) for _ in range(options.gradient_batches)]
             if needs_gradients or options.allocation != 'uniform' else None)
    # latency after pruning is timed beside this unpruned copy
    reference = None if args.no_latency else copy.deepcopy(model)
    widths = layer_widths(model)
    result = prune_model(
        model,
        data,
        options,
        gradient_data=grads,
        sensitivity_cache=sensitivity_cache_of(args),
        **meter.prune_kwargs())
    # the unpruned model's params and FLOPs as prune_model measured them
    report = PruningReport(
        device=device_name(next(model.parameters()).device),
        config=args.config,
        checkpoint=args.checkpoint,
        traced_on=source,
        method=args.method,
        target=options.target,
        round_to=args.round_to,
        input_shape=list(shape),
        params_before=result.params_before,
        flops_before=result.flops_before)
    report.add_prune_point(
        0, result.target, result, model, widths, result.flops_after,
        None if reference is None else report.paired_latency_after(
            reference, model, options.latency_rounds))
    del reference
    report.target_reached = result.target_reached
    if args.random_init:
        reinitialize(model)

    structure = PrunedStructure(
        # done=[0]: a config pruning one shot at iteration 0 finetunes
        # this checkpoint without pruning it again
        history=(earlier.history if earlier else []) + result.history,
        done=[0],
        method=args.method,
        report=report.to_dict(),
        widths=earlier.widths if earlier and earlier.widths else widths)
    # saved on the CPU: the checkpoint loads on any machine
    ckpt = dict(
        state_dict={
            k: v.cpu()
            for k, v in model.state_dict().items()
        },
        meta=dict(
            cfg=cfg.pretty_text,
            pruned_from=args.checkpoint,
            random_init=args.random_init))
    structure.to_checkpoint(ckpt)
    out_dir = out_dir_of(args)
    os.makedirs(out_dir, exist_ok=True)
    out = osp.join(out_dir, 'pruned.pth')
    save_checkpoint_atomic(ckpt, out)
    report_path = report.write(out_dir)
    logger.info(report.summary(args.method) + f'; traced on the {source}')
    if result.target_reached:
        logger.info(result.target_line())
    else:
        logger.warning(result.target_line())
    finetune = write_finetune_config(
        finetune_config_path(args),
        args.config,
        cfg,
        out,
        args.cfg_options,
        summary=report.summary(args.method),
        schedule=schedule)
    if applied_schedule(schedule, args.cfg_options):
        logger.info(schedule['summary'])
    logger.info(f'wrote {out}, {report_path} and {finetune}')
    print(next_commands(finetune))


if __name__ == '__main__':
    main()
