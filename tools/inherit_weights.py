r"""Write a checkpoint for a slimmed config whose weights are inherited from a
wider trained checkpoint (the most important channels of every coupled
group), plus its report, without training. The result loads with the stock
``tools/test.py CONFIG OUT`` or starts a finetune through ``load_from``.

    python tools/inherit_weights.py configs/pruning/lsknet/X_pruneB.py \
        work_dirs/base/epoch_12.pth --out work_dirs/X_pruneB/inherited.pth
"""
import argparse
import os.path as osp

from mmengine.registry import init_default_scope

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.core.inheritance import weight_criteria
from mmprune.engine.inheritance_from_checkpoint import (
    inherit_from_checkpoint, load_checkpoint_file)
from mmprune.models.builder import build_model_from
from mmprune.utils import dump_json_atomic, read_config, save_checkpoint_atomic
from mmprune.utils.cli import add_cfg_options_arg, tool_parser
from mmprune.utils.outputs import prepare_output_file


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='the slimmed (target) config')
    parser.add_argument('checkpoint', help='the wider trained checkpoint')
    parser.add_argument(
        '--out', required=True, help='where to write the inherited checkpoint')
    parser.add_argument(
        '--source-config',
        help='config of the checkpoint\'s model (default: the one saved in '
        'the checkpoint)')
    parser.add_argument(
        '--importance',
        default='l1',
        choices=weight_criteria(),
        help='the criterion ranking channels from the weights')
    parser.add_argument(
        '--strict-false',
        action='store_true',
        help='for comparison only: load the checkpoint with '
        'load_state_dict(strict=False) as plain OpenMMLab does (tensors whose '
        'shape changed keep their initialisation) instead of inheriting')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing --out file')
    add_cfg_options_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError(f'--out "{args.out}" is the source checkpoint: it is '
                         'never overwritten, choose another path')
    cfg = read_config(args.config, args.cfg_options)
    check_checkpoint_path(args.checkpoint)
    prepare_output_file(args.out, '--out', args.overwrite)
    if args.source_config is not None:
        read_config(args.source_config, what='--source-config')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    target = build_model_from(cfg)
    target.init_weights()
    if args.strict_false:
        state, _ = load_checkpoint_file(args.checkpoint)
        own = target.state_dict()
        fits = {
            k: v
            for k, v in state.items() if k in own and own[k].shape == v.shape
        }
        target.load_state_dict(fits, strict=False)
        report = dict(loaded=len(fits), left_initialised=len(own) - len(fits))
        print(f'strict=False: {len(fits)} tensors loaded, '
              f'{len(own) - len(fits)} keep their initialisation')
    else:
        report = inherit_from_checkpoint(target, cfg, args.checkpoint,
                                         args.source_config, args.importance)
        print(report.summary())
        report = report.to_dict()
    ckpt = dict(
        state_dict=target.state_dict(),
        meta=dict(
            cfg=cfg.pretty_text,
            inherited_from=args.checkpoint,
            importance='strict=False'
            if args.strict_false else args.importance))
    save_checkpoint_atomic(ckpt, args.out)
    report_path = osp.splitext(args.out)[0] + '_weight_inheritance.json'
    dump_json_atomic(dict(checkpoint=args.checkpoint, **report), report_path)
    print(f'wrote {args.out} and {report_path}')


if __name__ == '__main__':
    main()
