"""The ten structured pruning methods by name, as Torch-Pruning
importances (and, for the sparse-training ones, the Torch-Pruning pruner
whose ``regularize`` runs during training before pruning)."""
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Type

import torch
import torch.nn as nn
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


class WidestFirstReduce:
    """Torch-Pruning's importances that score BatchNorms only size a
    group's score by the first BatchNorm they meet; in a group that
    concatenates branches that BN covers one branch only, and the scores of
    the others fall outside it (measured: an IndexError on RTMDet-tiny's
    CSP blocks, for BN-scale ranking and for the group-lasso penalty). The
    widest BN goes first, and a zero score of the full width when none is."""

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


class BNScaleImportance(WidestFirstReduce, tp.importance.BNScaleImportance):
    pass


class BNGroupL2Importance(WidestFirstReduce,
                          tp.importance.MagnitudeImportance):
    pass


class BNScalePruner(tp.pruner.BNScalePruner):
    """Torch-Pruning's slimming penalty (L1 on BN scales) only looks for
    ``nn.BatchNorm1d/2d/3d``. OpenMMLab models hold SyncBatchNorm from their
    configs, or mmengine's ``_BatchNormXd`` after a single-process runner
    reverts it: both only subclass ``_BatchNorm``, and measured on
    RTMDet-tiny the penalty reached no layer at all. Any affine
    ``_BatchNorm`` gets it here (the group-lasso variant already did, but
    its per-group norm needs :class:`WidestFirstReduce`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.group_lasso:
            self._l2_imp = BNGroupL2Importance(
                p=2, group_reduction='mean', normalizer=None,
                target_types=[nn.modules.batchnorm._BatchNorm])

    def regularize(self, model, reg=None, bias=False):
        reg = self.reg if reg is None else reg
        if self.group_lasso:
            self._group_lasso(reg)
            return
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine \
                    and m not in self.ignored_layers \
                    and m.weight.grad is not None:
                m.weight.grad.data.add_(reg * torch.sign(m.weight.data))

    @torch.no_grad()
    def _group_lasso(self, reg: float) -> None:
        """Torch-Pruning's group-lasso step, skipping the groups without a
        BatchNorm (its own code adds 1e-9 to their None score and fails)."""
        for group in self._groups:
            norm_sq = self._l2_imp(group)
            if norm_sq is None or torch.isnan(norm_sq).any():
                continue
            gamma = reg / (norm_sq + 1e-9).sqrt()
            for item in group:
                layer = item.dep.layer
                if isinstance(layer, nn.modules.batchnorm._BatchNorm) and \
                        layer.affine and layer not in self.ignored_layers \
                        and layer.weight.grad is not None:
                    g = gamma[torch.tensor(item.root_idxs,
                                           device=gamma.device)]
                    layer.weight.grad.data.add_(g * layer.weight.data)


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
                      sparse_training=BNScalePruner),
        PruningMethod('group_slim', BNScaleImportance,
                      sparse_training=BNScalePruner,
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
