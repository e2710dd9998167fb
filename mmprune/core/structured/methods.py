"""The ten structured pruning methods by name, as Torch-Pruning
importances (and, for the sparse-training ones, the Torch-Pruning pruner
whose ``regularize`` runs during training before pruning)."""
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Type

import torch
import torch_pruning as tp


@dataclass(frozen=True)
class PruningMethod:
    name: str
    importance: Callable[[], tp.importance.Importance]
    # gradients of the training loss are accumulated before ranking
    needs_gradients: bool = False
    # per-sample gradients (Hessian diagonal approximation)
    per_sample_gradients: bool = False
    # Torch-Pruning pruner providing the sparse-training regulariser
    sparse_training: Optional[Type[tp.pruner.BasePruner]] = None
    sparse_training_args: tuple = ()


class BNScaleImportance(tp.importance.BNScaleImportance):
    """Torch-Pruning's BN-scale importance sizes a group's score by the
    first BatchNorm it meets; in a group that concatenates branches that
    BN covers one branch only, and the scores of the others fall outside
    it (measured: an IndexError on RTMDet-tiny's CSP blocks). The widest
    BN goes first, and a zero score of the full width when none is."""

    def _reduce(self, group_imp, group_idxs):
        pairs = [(imp, idxs) for imp, idxs in zip(group_imp, group_idxs)
                 if not any(i is None for i in idxs)]
        if not pairs:
            return super()._reduce(group_imp, group_idxs)
        pairs.sort(key=lambda p: -len(p[1]))
        size = max(max(idxs) for _, idxs in pairs) + 1
        if len(pairs[0][1]) < size:
            pairs.insert(0, (torch.zeros(size), list(range(size))))
        return super()._reduce([p[0] for p in pairs], [p[1] for p in pairs])


PRUNING_METHODS: Dict[str, PruningMethod] = {}


def register_pruning_method(method: PruningMethod) -> PruningMethod:
    if method.name in PRUNING_METHODS:
        raise KeyError(f'pruning method {method.name!r} already registered')
    PRUNING_METHODS[method.name] = method
    return method


def get_pruning_method(name: str) -> PruningMethod:
    if name not in PRUNING_METHODS:
        raise ValueError(f'unknown pruning method {name!r}; known: '
                         f'{", ".join(sorted(PRUNING_METHODS))}')
    return PRUNING_METHODS[name]


for _m in (
        PruningMethod('l1', lambda: tp.importance.GroupMagnitudeImportance(
            p=1)),
        PruningMethod('random', tp.importance.RandomImportance),
        PruningMethod('lamp', lambda: tp.importance.LAMPImportance(p=2)),
        PruningMethod('group_norm',
                      lambda: tp.importance.GroupMagnitudeImportance(p=2)),
        PruningMethod('slim', BNScaleImportance,
                      sparse_training=tp.pruner.BNScalePruner),
        PruningMethod('group_slim', BNScaleImportance,
                      sparse_training=tp.pruner.BNScalePruner,
                      sparse_training_args=(('group_lasso', True), )),
        PruningMethod('group_sl',
                      lambda: tp.importance.GroupMagnitudeImportance(p=2),
                      sparse_training=tp.pruner.GroupNormPruner),
        PruningMethod('growing_reg',
                      lambda: tp.importance.GroupMagnitudeImportance(p=2),
                      sparse_training=tp.pruner.GrowingRegPruner),
        PruningMethod('group_taylor', tp.importance.GroupTaylorImportance,
                      needs_gradients=True),
        PruningMethod('group_hessian', tp.importance.GroupHessianImportance,
                      needs_gradients=True, per_sample_gradients=True),
):
    register_pruning_method(_m)
