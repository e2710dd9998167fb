"""Torch-Pruning's BatchNorm importances, reduced widest BatchNorm first."""
import torch
import torch.nn as nn
import torch_pruning as tp


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
    """The group's L2 norm over its BatchNorms only (the group-lasso
    penalty of group slimming)."""

    def __init__(self) -> None:
        super().__init__(
            p=2,
            group_reduction='mean',
            normalizer=None,
            target_types=[nn.modules.batchnorm._BatchNorm])
