"""Config preparation shared by ``tools/train.py`` and ``tools/test.py``."""
import os.path as osp
from typing import Any, Iterator, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import Registry

from mmprune import registry as mmprune_registry
from mmprune.compat import adapt_cfg_for_cpu_ddp, init_cpu_process_group


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


def prepare_cfg_for_run(cfg: Config, launcher: str, amp: bool = False) -> None:
    """Check the config and adapt it to the machine, before the runner."""
    if amp and not torch.cuda.is_available():
        raise RuntimeError('--amp needs a GPU: mmengine\'s AmpOptimWrapper '
                           'does not run on CPU')
    check_mmprune_types(cfg)
    adapt_cfg_for_cpu_ddp(cfg, launcher)
    if init_cpu_process_group(launcher):
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'


def set_show_dir(cfg: Config, show_dir: str) -> None:
    """Turn on drawing predictions into ``show_dir`` (relative to the work
    dir) during test: mmdet/mmrotate's hook takes ``test_out_dir``; mmseg's
    draws through the visualizer, whose ``save_dir`` is set instead."""
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise KeyError('--show-dir: the config has no '
                       'default_hooks.visualization hook to draw with')
    hook = hooks['visualization']
    hook['draw'] = True
    if 'SegVisualizationHook' in str(hook.get('type', '')):
        cfg.visualizer['save_dir'] = osp.join(cfg.work_dir, show_dir)
    else:
        hook['test_out_dir'] = show_dir
