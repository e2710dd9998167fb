"""Prune a trained checkpoint once, offline, and write the pruned checkpoint
with its report; finetune it later with the stock ``tools/train.py``.

    python tools/prune.py CONFIG CHECKPOINT --method l1 --speed-up 2 \
        [--round-to 8] [--out DIR]

``DIR/pruned.pth`` carries the pruned structure (key ``pruning``), so any
config with ``dict(type='mmprune.StructuredPruningHook')`` in its
custom_hooks rebuilds the pruned model when it loads it (``load_from`` for a
finetune, or ``tools/test.py CONFIG DIR/pruned.pth``).
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import mkdir_or_exist

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis import (measure_latency, module_breakdown,
                              plot_layer_channels)
from mmprune.apis.train_batches import train_batches
from mmprune.apis.weight_inheritance import (build_model_from,
                                             load_checkpoint_file)
from mmprune.core.structured import (PRUNING_METHODS, check_target,
                                     get_pruning_method, prune_model)
from mmprune.engine.hooks.structured_pruning_hook import CHECKPOINT_KEY
from mmprune.utils import dump_json_atomic, save_checkpoint_atomic


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='the trained checkpoint (read '
                        'with weights_only=True, never modified)')
    parser.add_argument('--method', default='l1',
                        choices=sorted(PRUNING_METHODS))
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument('--ratio', type=float,
                        help='share of channels removed, in [0, 1)')
    target.add_argument('--speed-up', type=float,
                        help='FLOPs reduction factor, > 1')
    parser.add_argument('--round-to', type=int, default=8)
    parser.add_argument('--max-layer-ratio', type=float, default=1.0)
    parser.add_argument('--global-pruning', action='store_true')
    parser.add_argument('--ignored', nargs='*', default=[],
                        help='module-name patterns left unpruned')
    parser.add_argument('--gradient-batches', type=int, default=4,
                        help='train batches for group_taylor/group_hessian')
    parser.add_argument('--input-shape', type=int, nargs=2,
                        help='H W for FLOPs and latency (default: the size '
                        'of a training batch)')
    parser.add_argument(
        '--random-init', action='store_true',
        help='re-initialise the pruned model\'s weights (the pruned '
        'architecture trained from scratch, for comparison)')
    parser.add_argument('--out', help='output folder (default: '
                        'work_dirs/<config name>_pruned)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # bad input fails before the model is built
    check_target(args.ratio, args.speed_up)
    pm = get_pruning_method(args.method)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint "{args.checkpoint}" does not '
                                'exist')
    out_dir = args.out or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_pruned')
    out = osp.join(out_dir, 'pruned.pth')
    if osp.abspath(out) == osp.abspath(args.checkpoint):
        raise ValueError(f'--out "{out_dir}" would overwrite the source '
                         'checkpoint: choose another folder')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))

    model = build_model_from(cfg)
    state, _ = load_checkpoint_file(args.checkpoint)
    model.load_state_dict(state, strict=True)
    batches = train_batches(cfg, model)
    data = next(batches)
    shape = tuple(args.input_shape or data['inputs'].shape[-2:])

    def flops(m) -> float:
        return module_breakdown(m, shape).total_flops

    grads = ([next(batches) for _ in range(args.gradient_batches)]
             if pm.needs_gradients else None)
    latency_before = measure_latency(model, shape)
    result = prune_model(
        model, data, args.method, ratio=args.ratio, speed_up=args.speed_up,
        round_to=args.round_to, max_layer_ratio=args.max_layer_ratio,
        ignored=args.ignored, global_pruning=args.global_pruning,
        gradient_batches=grads, flops_fn=flops)
    latency_after = measure_latency(model, shape)
    if args.random_init:
        model.init_weights()

    report = dict(
        config=args.config, checkpoint=args.checkpoint, **result.to_dict(),
        round_to=args.round_to, input_shape=list(shape), device='cpu',
        latency_ms_before=latency_before, latency_ms_after=latency_after,
        latency_speed_up=latency_before / latency_after,
        events=[dict(iter=0, target=result.target, steps=result.steps,
                     params=result.params_after, flops=result.flops_after)])
    ckpt = dict(
        state_dict=model.state_dict(),
        meta=dict(cfg=cfg.pretty_text, pruned_from=args.checkpoint,
                  random_init=args.random_init),
        # done=[0]: a config pruning one shot at iteration 0 finetunes
        # this checkpoint without pruning it again
        **{CHECKPOINT_KEY: dict(history=result.history, done=[0],
                                method=args.method, report=report,
                                widths={r['name']: (r['in_before'],
                                                    r['out_before'])
                                        for r in result.layers})})
    mkdir_or_exist(out_dir)
    save_checkpoint_atomic(ckpt, out)
    dump_json_atomic(report, osp.join(out_dir, 'pruning_results.json'))
    plot_layer_channels(result.layers,
                        osp.join(out_dir, 'pruning_channels.png'),
                        title=f'{args.method}: {result.speed_up:.2f}x fewer '
                        'FLOPs')
    print(f'{args.method}: params {result.params_before / 1e6:.3f}M -> '
          f'{result.params_after / 1e6:.3f}M, FLOPs '
          f'{result.flops_before / 1e9:.3f}G -> '
          f'{result.flops_after / 1e9:.3f}G ({result.speed_up:.2f}x) at '
          f'{shape[0]}x{shape[1]}, CPU latency {latency_before} -> '
          f'{latency_after} ms ({latency_before / latency_after:.2f}x), '
          f'{len(result.skipped)} layers kept (see skipped in the report)')
    print(f'wrote {out} and {osp.join(out_dir, "pruning_results.json")}')


if __name__ == '__main__':
    main()
