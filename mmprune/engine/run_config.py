"""Config preparation shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from typing import Any, Iterator, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import RUNNERS, Registry
from mmengine.runner import Runner

from mmprune import registry as mmprune_registry
from mmprune.compat import adapt_cfg_for_cpu_ddp, init_cpu_process_group
from mmprune.core.checkpoint_reader import read_checkpoint
from mmprune.core.model_family import coupled_width_keys
from mmprune.core.structured.pruned_structure import has_pruned_structure
from mmprune.utils import config_name, read_config
from mmprune.utils.cli import add_cfg_options_arg
from mmprune.utils.outputs import check_creatable

STRUCTURE_HOOK = 'StructuredPruningHook'


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """The flags train and test share, as OpenMMLab tools spell them."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    add_cfg_options_arg(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_run_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply the shared flags: launcher,
    ``--cfg-options`` and the work dir (default ``work_dirs/<config>``)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', config_name(args.config))
    # before the runner: a work dir that cannot be created fails now, not
    # after the model and the data are built
    check_creatable(cfg.work_dir, '--work-dir')
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The runner a config asks for (``runner_type``), else mmengine's."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
        RUNNERS.build(cfg)


def _iter_types(node: Any, key: str = '') -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            path = f'{key}.{k}' if key else str(k)
            if k == 'type' and isinstance(v, str):
                yield path, v
            else:
                yield from _iter_types(v, path)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _iter_types(v, f'{key}[{i}]')


def check_mmprune_types(cfg: Config) -> None:
    """Fail before any work when a config names an ``mmprune.`` type that
    no mmprune registry holds, naming the config key at fault."""
    import mmprune.utils
    mmprune.utils.register_all_modules(init_default_scope=False)
    registries = [
        r for r in vars(mmprune_registry).values() if isinstance(r, Registry)
    ]
    known = sorted({k for r in registries for k in r.module_dict})
    for path, type_name in _iter_types(cfg._cfg_dict.to_dict()):
        if not type_name.startswith('mmprune.'):
            continue
        name = type_name[len('mmprune.'):]
        if not any(name in r.module_dict for r in registries):
            raise KeyError(
                f'config key "{path}": unknown type "{type_name}". mmprune '
                f'registers: {", ".join(known)}')


def check_fpn_width(cfg: Config) -> None:
    """A slimmed FPN must be slimmed in every consumer: fail before the
    model is built, naming every key that disagrees with ``neck``."""
    model = cfg.get('model', {})
    if isinstance(model, dict) and 'student' in model:  # a Distiller
        model = model['student']

    def get(path):
        node = model
        for part in path.split('.'):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, int) else None

    width = get('neck.out_channels')
    if width is None:
        return
    # the keys the model families couple to the neck's width
    wrong = [
        f'model.{k}={get(k)}' for k in coupled_width_keys()
        if get(k) is not None and get(k) != width
    ]
    if wrong:
        raise ValueError(
            f'model.neck.out_channels={width} but {", ".join(wrong)}: the '
            'FPN width must be the same in every consumer (the slimmed '
            'configs set them all from one variable, fpn_channels)')


def prepare_cfg_for_run(cfg: Config, launcher: str, amp: bool = False) -> None:
    """Check the config and adapt it to the machine, before the runner."""
    if amp and not torch.cuda.is_available():
        raise RuntimeError('--amp needs a GPU: mmengine\'s AmpOptimWrapper '
                           'does not run on CPU')
    check_mmprune_types(cfg)
    check_fpn_width(cfg)
    adapt_cfg_for_cpu_ddp(cfg, launcher)
    if init_cpu_process_group(launcher):
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'


def _has_hook(cfg: Config, name: str) -> bool:
    return any(
        name in str(h.get('type', ''))
        for h in cfg.get('custom_hooks', None) or [])


def add_custom_hook(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to the config's custom_hooks."""
    cfg.custom_hooks = list(cfg.get('custom_hooks', None)
                            or []) + [dict(type=hook_type)]


def check_start_checkpoint(cfg: Config, path: str) -> None:
    """Read the checkpoint a run starts from (``load_from``, a resume
    file, the checkpoint of ``tools/test.py``) before the model is built:
    a missing, empty, truncated, unsafe or foreign file is a clear error
    naming it. A checkpoint that carries a pruned structure (from
    ``tools/prune.py`` or a pruning run) when the config has no
    ``StructuredPruningHook`` gets one that only rebuilds the structure,
    said in the log: the weights would otherwise load into the unpruned
    model, mismatched tensors left at their random initialisation."""
    checkpoint = read_checkpoint(path)
    if has_pruned_structure(checkpoint) and not _has_hook(cfg, STRUCTURE_HOOK):
        add_custom_hook(cfg, f'mmprune.{STRUCTURE_HOOK}')
        MMLogger.get_current_instance().info(
            f'checkpoint "{path}" carries a pruned structure and the config '
            f'has no {STRUCTURE_HOOK}: added '
            f"dict(type='mmprune.{STRUCTURE_HOOK}') to custom_hooks, which "
            'rebuilds the pruned model before the weights load')


def set_show_dir(cfg: Config, show_dir: str) -> None:
    """Turn on drawing every test prediction into ``show_dir`` (relative to
    the work dir): mmdet/mmrotate's hook takes ``test_out_dir``; mmseg's
    draws through the visualizer, whose ``save_dir`` is set instead, and
    only every ``interval``-th batch (50 by default), so it is set to 1."""
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise KeyError('--show-dir: the config has no '
                       'default_hooks.visualization hook to draw with')
    hook = hooks['visualization']
    hook['draw'] = True
    if 'SegVisualizationHook' in str(hook.get('type', '')):
        hook['interval'] = 1
        cfg.visualizer['save_dir'] = osp.join(cfg.work_dir, show_dir)
    else:
        hook['test_out_dir'] = show_dir
