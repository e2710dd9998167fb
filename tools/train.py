"""Train an mmdet, mmrotate or mmseg model from a config (mmprune-aware).

The flags are those of the OpenMMLab train tools. ``import mmprune`` applies
the compatibility shims before the config pulls in mmrotate.
"""
import argparse

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.compat import close_cpu_process_group
from mmprune.engine.run_config import (add_run_args, build_runner,
                                       check_start_checkpoint, load_run_config,
                                       prepare_cfg_for_run)
from mmprune.utils.cli import tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (needs a GPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    add_run_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_run_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr: the config has no '
                               '"auto_scale_lr.base_batch_size"')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if cfg.get('load_from'):
        check_start_checkpoint(cfg, cfg.load_from)
    prepare_cfg_for_run(cfg, args.launcher, amp=args.amp)

    runner = build_runner(cfg)
    runner.train()
    close_cpu_process_group()


if __name__ == '__main__':
    main()
