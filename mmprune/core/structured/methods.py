"""The ten structured pruning methods by name: a criterion of
``mmprune.core.criteria`` that ranks channels and, for the sparse-training
methods, the Torch-Pruning pruner whose ``regularize`` runs during
training before pruning (see ``sparse_training.py``). Each is a class in
:data:`mmprune.registry.PRUNING_METHODS` under its name."""
from typing import List, Optional, Type

import torch_pruning as tp

from mmprune.registry import PRUNING_METHODS
from ..criteria import Criterion, build_criterion
from ..tp_backend import BNScalePruner


class PruningMethod:
    """A structured pruning method: what ranks channels and, for a
    sparse-training method, what pushes them to zero first."""
    #: its name in :data:`PRUNING_METHODS`
    name: str = ''
    #: the short name of the criterion ranking channels
    criterion: str = ''
    #: Torch-Pruning pruner providing the sparse-training regulariser
    sparse_training: Optional[Type[tp.pruner.BasePruner]] = None
    #: its extra keyword arguments, as ``(key, value)`` pairs
    sparse_training_args: tuple = ()

    def build_criterion(self) -> Criterion:
        return build_criterion(self.criterion)

    def importance(self) -> tp.importance.Importance:
        return self.build_criterion().channel_importance()


def register_pruning_method(cls: Type[PruningMethod]) -> Type[PruningMethod]:
    """Class decorator: register ``cls`` under ``cls.name``, its criterion
    checked first (a known criterion with channel scores)."""
    build_criterion(cls.criterion)
    PRUNING_METHODS.register_module(name=cls.name, module=cls)
    return cls


def pruning_method_names() -> List[str]:
    """The registered methods' names, sorted."""
    PRUNING_METHODS.import_from_location()
    return sorted(PRUNING_METHODS.module_dict)


def get_pruning_method(name: str) -> PruningMethod:
    """The method registered as ``name``; an unknown name is a
    ``ValueError`` listing the known ones."""
    cls = PRUNING_METHODS.get(name) if isinstance(name, str) else None
    # get() also imports a dotted path: only a registered method counts
    if not (isinstance(cls, type) and issubclass(cls, PruningMethod)):
        raise ValueError(f'unknown pruning method {name!r}; known: '
                         f'{", ".join(pruning_method_names())}')
    return cls()


@register_pruning_method
class L1Pruning(PruningMethod):
    name = criterion = 'l1'


@register_pruning_method
class RandomPruning(PruningMethod):
    name = criterion = 'random'


@register_pruning_method
class LAMPPruning(PruningMethod):
    name = criterion = 'lamp'


@register_pruning_method
class GroupNormPruning(PruningMethod):
    name, criterion = 'group_norm', 'l2'


@register_pruning_method
class SlimPruning(PruningMethod):
    name, criterion = 'slim', 'bn_scale'
    sparse_training = BNScalePruner


@register_pruning_method
class GroupSlimPruning(PruningMethod):
    name, criterion = 'group_slim', 'bn_scale'
    sparse_training = BNScalePruner
    sparse_training_args = (('group_lasso', True), )


@register_pruning_method
class GroupSLPruning(PruningMethod):
    name, criterion = 'group_sl', 'l2'
    sparse_training = tp.pruner.GroupNormPruner


@register_pruning_method
class GrowingRegPruning(PruningMethod):
    name, criterion = 'growing_reg', 'l2'
    sparse_training = tp.pruner.GrowingRegPruner


@register_pruning_method
class GroupTaylorPruning(PruningMethod):
    name, criterion = 'group_taylor', 'taylor'


@register_pruning_method
class GroupHessianPruning(PruningMethod):
    name, criterion = 'group_hessian', 'hessian'
