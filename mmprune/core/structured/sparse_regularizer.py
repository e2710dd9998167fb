"""The sparse-training phase of ``slim``, ``group_slim``, ``group_sl`` and
``growing_reg``: Torch-Pruning's pruner of the method, whose
``regularize`` adds the sparsity penalty's gradient after the backward
pass and before the optimizer step."""
from typing import List

import torch.nn as nn

from .methods import get_pruning_method
from .prune import build_pruner

SCHEDULES = ('constant', 'linear')


def regularization_strength(reg: float, schedule: str, progress: float
                            ) -> float:
    """The penalty strength at ``progress`` (0 to 1) through the phase:
    ``constant``, or ``linear`` from 0 up to ``reg``."""
    if schedule not in SCHEDULES:
        raise ValueError(f'sparse_training.schedule = {schedule!r}: must be '
                         f'one of {SCHEDULES}')
    if schedule == 'constant':
        return reg
    return reg * min(max(progress, 0.0), 1.0)


class SparseRegularizer:
    """Adds a method's sparsity penalty to the gradients of ``model``.

    ``growing_reg`` grows its per-channel penalty by ``reg`` every
    ``update_interval`` calls (Wang et al., GReg); the others scale theirs
    by the strength given to :meth:`regularize`.
    """

    def __init__(self, model: nn.Module, data: dict, method: str,
                 reg: float, ignored_layers: List[nn.Module],
                 update_interval: int = 10) -> None:
        pm = get_pruning_method(method)
        if pm.sparse_training is None:
            raise ValueError(
                f'method {method!r} has no sparse-training phase (those '
                'that do: slim, group_slim, group_sl, growing_reg)')
        extra = dict(pm.sparse_training_args)
        if method == 'growing_reg':
            extra['delta_reg'] = reg
        self.method = method
        self.update_interval = update_interval
        self.calls = 0
        self.pruner = build_pruner(pm.sparse_training, model, data,
                                   pm.importance(), ignored_layers, reg=reg,
                                   **extra)

    def regularize(self, model: nn.Module, strength: float) -> None:
        if self.method == 'growing_reg':
            if self.calls and self.calls % self.update_interval == 0:
                self.pruner.update_reg()
        else:
            self.pruner.reg = strength
        self.calls += 1
        self.pruner.regularize(model)
