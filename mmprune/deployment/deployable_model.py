"""A model rebuilt from a config and a (pruned) checkpoint, as
``tools/test.py`` rebuilds it: the checkpoint's pruned structure is replayed
on the config's model, then every tensor must fit, so that nothing is ever
exported or measured with the config's old widths."""
from typing import Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmprune.core.checkpoint_reader import (check_state_fits, read_checkpoint,
                                            state_dict_of)
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.datasets.synthetic_batch import synthetic_batch_of_config
from mmprune.models.builder import build_model_from

# the synthetic image a pruned structure is replayed on: the dependency
# graph follows the modules, not the image, so a small one is enough
REPLAY_SHAPE = (128, 128)


def load_deployable_model(cfg: Config,
                          checkpoint: str,
                          replay_shape: Optional[Tuple[int, int]] = None,
                          loaded: Optional[dict] = None) -> nn.Module:
    """The model of ``cfg`` with ``checkpoint``'s structure and weights, in
    eval mode (``loaded``: the checkpoint already read from that path). A
    checkpoint that does not fit (another architecture, or a pruned one
    without its pruning record) raises
    :class:`~mmprune.core.checkpoint_reader.CheckpointMismatchError` naming
    the file and the first tensor at fault."""
    ckpt = loaded if loaded is not None else read_checkpoint(checkpoint)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = build_model_from(cfg)
    record = PrunedStructure.from_checkpoint(ckpt,
                                             f'checkpoint "{checkpoint}"')
    if record is not None:
        data = synthetic_batch_of_config(model, cfg, replay_shape
                                         or REPLAY_SHAPE)
        replay_pruning_history(model, data, record.history)
    state = state_dict_of(ckpt)
    hint = None if record is not None else (
        'If it was pruned, it lost its pruning record (key "pruning"); '
        'prune with tools/prune.py or StructuredPruningHook, which keep it')
    check_state_fits(
        model,
        state,
        checkpoint,
        model_desc=f'the model of config "{cfg.filename}"',
        hint=hint)
    model.load_state_dict(state, strict=True)
    return model.eval()
