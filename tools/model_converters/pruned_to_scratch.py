r"""The retrain route: turn a pruning result into a from-scratch run. The
architecture the pruning found (the pruned checkpoint's structure), with
fresh weights at its own widths, and a config that trains it on the base
config's whole schedule with the stock ``tools/train.py``.

    python tools/model_converters/pruned_to_scratch.py CONFIG PRUNED.pth \
        [--out DIR] [--overwrite]

CONFIG is the config the checkpoint was pruned from (or its finetune
config); PRUNED.pth a checkpoint of ``tools/prune.py`` or of a training
run with ``StructuredPruningHook``. Writes ``DIR/scratch_init.pth`` and
``DIR/<config name>_scratch.py``, and prints the command that trains it.
The source checkpoint is only read.
"""
import argparse
import os.path as osp

from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.core.checkpoint_reader import (check_checkpoint_path,
                                            read_checkpoint)
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.deployment import load_deployable_model
from mmprune.engine.finetune_config import write_finetune_config
from mmprune.models.fresh_weights import reinitialize
from mmprune.utils import config_name, read_config, save_checkpoint_atomic
from mmprune.utils.cli import add_cfg_options_arg, tool_parser
from mmprune.utils.outputs import prepare_output_dir

RESULTS = ('scratch_init.pth', )


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='the config the model was pruned from')
    parser.add_argument('checkpoint', help='the pruned checkpoint')
    parser.add_argument(
        '--out',
        help='output folder (default: the checkpoint\'s folder + _scratch)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the results of an earlier run in --out')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logger = MMLogger.get_instance('mmprune.scratch', log_level='INFO')
    check_checkpoint_path(args.checkpoint)
    out_dir = args.out or osp.splitext(args.checkpoint)[0] + '_scratch'
    name = config_name(args.config) + '_scratch.py'
    prepare_output_dir(out_dir, '--out', RESULTS + (name, ), args.overwrite)
    cfg = read_config(args.config, args.cfg_options)
    ckpt = read_checkpoint(args.checkpoint)
    record = PrunedStructure.from_checkpoint(
        ckpt, f'checkpoint "{args.checkpoint}"')
    if record is None:
        raise ValueError(
            f'checkpoint "{args.checkpoint}" has no pruned structure (key '
            '"pruning"): give a checkpoint of tools/prune.py or of a run '
            'with StructuredPruningHook')
    # the pruned structure rebuilt and its weights checked to fit, then
    # replaced by fresh ones
    model = load_deployable_model(cfg, args.checkpoint, loaded=ckpt)
    reinitialize(model)
    params = sum(p.numel() for p in model.parameters())
    scratch = dict(
        state_dict={
            k: v.cpu()
            for k, v in model.state_dict().items()
        },
        meta=dict(scratch_of=osp.abspath(args.checkpoint)))
    # done=[0]: the config's hook rebuilds the structure and prunes nothing
    PrunedStructure(
        history=record.history,
        done=[0],
        method=record.method,
        report=record.report,
        widths=record.widths).to_checkpoint(scratch)
    init = osp.join(out_dir, RESULTS[0])
    save_checkpoint_atomic(scratch, init)
    config = write_finetune_config(
        osp.join(out_dir, name),
        args.config,
        cfg,
        init,
        args.cfg_options,
        summary=f'{params / 1e6:.2f}M parameters, structure of '
        f'{osp.abspath(args.checkpoint)}',
        scratch=True)
    logger.info(f'wrote {init} ({params / 1e6:.2f}M parameters, fresh '
                f'weights) and {config}')
    print('Next: train the pruned architecture from scratch on the base '
          "config's schedule:\n"
          f'  python tools/train.py {config} --work-dir '
          f'{osp.join(out_dir, "train")}')


if __name__ == '__main__':
    main()
