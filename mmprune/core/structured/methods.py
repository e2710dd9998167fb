"""The ten structured pruning methods by name: a criterion of
``mmprune.core.criteria`` that ranks channels and, for the sparse-training
methods, the Torch-Pruning pruner whose ``regularize`` runs during
training before pruning (see ``sparse_training.py``)."""
from dataclasses import dataclass
from typing import Dict, Optional, Type

import torch_pruning as tp

from ..criteria import Criterion, build_criterion
from .bn_scale_pruner import BNScalePruner


@dataclass(frozen=True)
class PruningMethod:
    name: str
    #: the short name of the criterion ranking channels
    criterion: str
    # Torch-Pruning pruner providing the sparse-training regulariser
    sparse_training: Optional[Type[tp.pruner.BasePruner]] = None
    sparse_training_args: tuple = ()

    def build_criterion(self) -> Criterion:
        return build_criterion(self.criterion)

    def importance(self) -> tp.importance.Importance:
        return self.build_criterion().channel_importance()


PRUNING_METHODS: Dict[str, PruningMethod] = {}


def register_pruning_method(method: PruningMethod) -> PruningMethod:
    if method.name in PRUNING_METHODS:
        raise KeyError(f'pruning method {method.name!r} already registered')
    build_criterion(method.criterion)  # a known criterion with channels
    PRUNING_METHODS[method.name] = method
    return method


def get_pruning_method(name: str) -> PruningMethod:
    if name not in PRUNING_METHODS:
        raise ValueError(f'unknown pruning method {name!r}; known: '
                         f'{", ".join(sorted(PRUNING_METHODS))}')
    return PRUNING_METHODS[name]


for _m in (
        PruningMethod('l1', 'l1'),
        PruningMethod('random', 'random'),
        PruningMethod('lamp', 'lamp'),
        PruningMethod('group_norm', 'l2'),
        PruningMethod('slim', 'bn_scale', sparse_training=BNScalePruner),
        PruningMethod(
            'group_slim',
            'bn_scale',
            sparse_training=BNScalePruner,
            sparse_training_args=(('group_lasso', True), )),
        PruningMethod(
            'group_sl', 'l2', sparse_training=tp.pruner.GroupNormPruner),
        PruningMethod(
            'growing_reg', 'l2', sparse_training=tp.pruner.GrowingRegPruner),
        PruningMethod('group_taylor', 'taylor'),
        PruningMethod('group_hessian', 'hessian'),
):
    register_pruning_method(_m)
