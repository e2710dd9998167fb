"""Weight inheritance from a checkpoint, for configs: shared by
``WeightInheritanceHook`` and ``tools/inherit_weights.py``."""
import os.path as osp
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmprune.core.inheritance import InheritanceReport, inherit_weights
from .train_batches import tracing_batch


def load_checkpoint_file(path: str) -> Tuple[dict, dict]:
    """``(state_dict, meta)`` of a checkpoint, loaded with
    ``weights_only=True``; a missing file is an error naming it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint "{path}" does not exist')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        state, meta = ckpt['state_dict'], ckpt.get('meta', {}) or {}
    else:
        state, meta = ckpt, {}
    state = {(k[7:] if k.startswith('module.') else k): v
             for k, v in state.items()}
    return state, meta


def source_config_of(checkpoint: str, meta: dict,
                     source_config: Optional[str]) -> Config:
    """The config that describes the checkpoint's model: ``source_config``
    when given, else the config mmengine saved in the checkpoint's meta."""
    if source_config is not None:
        return Config.fromfile(source_config)
    if 'cfg' not in meta:
        raise ValueError(
            f'checkpoint "{checkpoint}" carries no config in its meta (it '
            'was not saved by an mmengine runner): give the config of its '
            'model as source_config')
    return Config.fromstring(meta['cfg'], file_format='.py')


def build_model_from(cfg: Config) -> nn.Module:
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(cfg.model)


def inherit_from_checkpoint(target: nn.Module,
                            target_cfg: Config,
                            checkpoint: str,
                            source_config: Optional[str] = None,
                            importance: str = 'l1') -> InheritanceReport:
    """Fill ``target`` (built from ``target_cfg``) from ``checkpoint`` of a
    wider model; see :func:`mmprune.core.inheritance.inherit_weights`."""
    state, meta = load_checkpoint_file(checkpoint)
    src_cfg = source_config_of(checkpoint, meta, source_config)
    source = build_model_from(src_cfg)
    data = tracing_batch(src_cfg, source)
    was_training = target.training
    report = inherit_weights(source, state, target, data, importance)
    target.train(was_training)
    return report
