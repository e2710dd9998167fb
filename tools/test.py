"""Test (evaluate) an mmdet, mmrotate or mmseg model from a config and a
checkpoint (mmprune-aware)."""
import argparse
import os.path as osp

from mmengine.evaluator import DumpResults

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.compat import close_cpu_process_group
from mmprune.engine.run_config import (add_custom_hook, add_run_args,
                                       build_runner, check_start_checkpoint,
                                       load_run_config, prepare_cfg_for_run,
                                       set_show_dir)
from mmprune.utils.cli import tool_parser
from mmprune.utils.outputs import check_creatable


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        type=str,
        help='dump the predictions to a pickle file (.pkl) for offline '
        'evaluation')
    parser.add_argument(
        '--show-dir',
        help='directory (under the work dir) to save the '
        'images with predictions drawn')
    add_run_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {args.out}')
    if args.out is not None:
        check_creatable(osp.dirname(osp.abspath(args.out)), '--out')
    cfg = load_run_config(args)
    check_start_checkpoint(cfg, args.checkpoint)
    # never evaluate a half-loaded model
    add_custom_hook(cfg, 'mmprune.CheckpointFitHook')
    cfg.load_from = args.checkpoint
    if args.show_dir:
        set_show_dir(cfg, args.show_dir)
    prepare_cfg_for_run(cfg, args.launcher)

    runner = build_runner(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    runner.test()
    close_cpu_process_group()


if __name__ == '__main__':
    main()
