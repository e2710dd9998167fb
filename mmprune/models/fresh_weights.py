"""Fresh weights for a model of any width: the pruned architecture trained
from scratch starts where its unpruned config would, at its own widths."""
import logging
from typing import List

import torch
import torch.nn as nn
from mmengine.logging import print_log


def _reset(module: nn.Module) -> None:
    reset = getattr(module, 'reset_parameters', None)
    if reset is None and isinstance(module, nn.MultiheadAttention):
        reset = module._reset_parameters  # torch names it privately
    if callable(reset):
        reset()


def _drop_pretrained(module: nn.Module) -> None:
    cfg = getattr(module, 'init_cfg', None)
    if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
        module.init_cfg = None
    elif isinstance(cfg, list):
        module.init_cfg = [
            c for c in cfg
            if not (isinstance(c, dict) and c.get('type') == 'Pretrained')
        ] or None


def reinitialize(model: nn.Module) -> List[str]:
    """Re-initialise every weight of ``model`` in place, for the shapes it
    has now; returns (and warns of) the names of the floating-point tensors
    left as they were (none, unless a layer has no way to reset itself).

    mmengine's ``init_weights`` alone is not enough: it reaches only
    modules whose parents are mmengine modules (a ``ConvModule`` inside an
    ``nn.Sequential`` keeps its weights), runs once per module, and leaves
    normalization statistics alone. So first each layer's own
    ``reset_parameters`` (torch's initialisation, which a freshly built
    model has; normalization layers forget their statistics), then the
    model's ``init_weights`` as the runner calls it, with the run-once mark
    cleared. ``Pretrained`` init_cfgs are dropped: the unpruned weights
    they name do not fit the pruned widths, and nothing may be
    downloaded."""
    before = {
        k: v.detach().clone()
        for k, v in model.state_dict().items() if v.is_floating_point()
    }
    for module in model.modules():
        _reset(module)
        if hasattr(module, '_is_init'):
            module._is_init = False
        _drop_pretrained(module)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    after = model.state_dict()
    kept = [
        k for k, v in before.items() if v.numel() and torch.equal(v, after[k])
    ]
    if kept:
        print_log(
            f'{len(kept)} tensors have no initialisation and keep their '
            f'values: {kept[:8]}',
            logger='current',
            level=logging.WARNING)
    return kept
