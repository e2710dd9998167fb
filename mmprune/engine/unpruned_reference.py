"""The unpruned model a pruned one is timed against."""
import copy

import torch.nn as nn

from mmprune.models.builder import build_model_from


def unpruned_model(runner, model: nn.Module, pruned: bool) -> nn.Module:
    """For latency measured beside the pruned model: a copy of ``model``
    taken before its first prune point or, when it is already ``pruned``
    (a run resumed after a prune point), the unpruned architecture built
    again from the runner's config (latency does not depend on the
    weights); on ``model``'s device."""
    if not pruned:
        return copy.deepcopy(model)
    cfg = runner.cfg.copy()
    if cfg.model.get('type') in ('mmprune.Distiller', 'Distiller'):
        cfg.model = cfg.model.student
    return build_model_from(cfg).to(next(model.parameters()).device)
