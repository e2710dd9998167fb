"""Weight inheritance from a checkpoint and the config of its model (the
config side of ``core/inheritance.py``): shared by
``WeightInheritanceHook`` and ``tools/inherit_weights.py``."""
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config

from mmprune.core.checkpoint_reader import check_state_fits, read_state_dict
from mmprune.core.inheritance import InheritanceReport, inherit_weights
from mmprune.datasets.train_batches import batches_or_synthetic
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config


def load_checkpoint_file(path: str) -> Tuple[dict, dict]:
    """``(state_dict, meta)`` of a checkpoint, loaded with
    ``weights_only=True``; any fault is an error naming the file."""
    return read_state_dict(path)


def source_config_of(checkpoint: str, meta: dict,
                     source_config: Optional[str]) -> Config:
    """The config that describes the checkpoint's model: ``source_config``
    when given, else the config mmengine saved in the checkpoint's meta."""
    if source_config is not None:
        return read_config(source_config, what='source_config')
    if 'cfg' not in meta:
        raise ValueError(
            f'checkpoint "{checkpoint}" carries no config in its meta (it '
            'was not saved by an mmengine runner): give the config of its '
            'model as source_config')
    return Config.fromstring(meta['cfg'], file_format='.py')


def inherit_from_checkpoint(
        target: nn.Module,
        target_cfg: Config,
        checkpoint: str,
        source_config: Optional[str] = None,
        importance: Union[str, dict] = 'l1') -> InheritanceReport:
    """Fill ``target`` (built from ``target_cfg``) from ``checkpoint`` of a
    wider model; see :func:`mmprune.core.inheritance.inherit_weights`."""
    state, meta = read_state_dict(checkpoint, 'weight inheritance: '
                                  'checkpoint')
    src_cfg = source_config_of(checkpoint, meta, source_config)
    source = build_model_from(src_cfg)
    # another architecture is named as such before any data is built
    check_state_fits(
        source, state, checkpoint, 'weight inheritance: checkpoint',
        'its source model (the config ' +
        (f'"{source_config}"' if source_config else 'saved in the checkpoint')
        + ')')
    # traced on the run's own data (the source's may live elsewhere), or on
    # a synthetic batch when that is not on disk either
    batches, _ = batches_or_synthetic(
        target_cfg, source, what='weight inheritance')
    data = next(batches)
    was_training = target.training
    report = inherit_weights(source, state, target, data, importance)
    target.train(was_training)
    return report
