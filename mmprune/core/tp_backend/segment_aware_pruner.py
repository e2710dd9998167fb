"""Torch-Pruning's BasePruner, with concatenated branches pruned alike.

Torch-Pruning picks the channels to remove across all branches of a concat
group (see ``mmprune.core.concat_branches``): measured on RTMDet-tiny with
``group_hessian``, a 24+24 group kept 23+9 channels, so ``round_to=8``
held for the group but not for either conv. Treating equal-sized branches
as channel groups (Torch-Pruning's own mechanism for grouped convs)
removes the same count from each branch, rounded per branch.
"""
from typing import Generator, List, Optional, Tuple

import torch_pruning as tp

from ..concat_branches import branch_producers
from .guarded_graph import GuardedPrunerMixin


def concat_segments(graph: tp.DependencyGraph, group) -> List[Tuple[int, ...]]:
    """The root-index ranges of the layers whose outputs a group
    concatenates, when they split the group's channels into equal
    contiguous parts; else []."""
    segments = sorted(branch_producers(graph, group))
    if len(segments) < 2:
        return []
    size = len(segments[0])
    expected = [
        tuple(range(i * size, (i + 1) * size)) for i in range(len(segments))
    ]
    if segments != expected or size * len(segments) != len(group[0].root_idxs):
        return []
    return segments


class SegmentAwarePruner(GuardedPrunerMixin, tp.pruner.BasePruner):
    """Concat branches as channel groups, and ``round_to`` applied to each
    channel group's own width.

    Torch-Pruning 1.6.1 rounds the width of all channel groups together
    (``current_channels``) with the count removed from each (``n_pruned``):
    a 24+24 concat kept 8+8 channels with ``round_to=16``. Its ``_round_to``
    is not given the group, so this pruner notes each group's channel
    groups and size where Torch-Pruning computes them
    (``_get_channel_groups``, ``estimate_importance``) and which group is
    being cut (``_is_atten_group``, which the cutting loop calls for each
    group before rounding). The fix to offer upstream
    (https://github.com/VainF/Torch-Pruning): pass ``group_size`` to
    ``_round_to``. The test of measured rounding fails if a release
    changes that order."""

    def _prune(self) -> Generator:
        self._shapes().clear()
        self._cutting = None
        yield from super()._prune()

    def _get_channel_groups(self, group) -> int:
        groups = super()._get_channel_groups(group)
        if groups <= 1:
            groups = len(concat_segments(self.DG, group)) or 1
        self._shapes()[id(group)] = (groups, None)
        return groups

    def estimate_importance(self, group):
        imp = super().estimate_importance(group)
        groups = self._shape_of(group)[0]
        if imp is not None:
            self._shapes()[id(group)] = (groups, len(imp) // groups)
        return imp

    def _is_atten_group(self, group):
        self._cutting = group
        return super()._is_atten_group(group)

    def _round_to(self, n_pruned: int, current_channels: int,
                  round_to: int) -> int:
        groups, size = self._shape_of(self._cutting)
        if groups > 1 and isinstance(size, int) and 0 < n_pruned <= size:
            kept = size - n_pruned
            return size - (kept - kept % round_to)
        return super()._round_to(n_pruned, current_channels, round_to)

    def _shapes(self) -> dict:
        # id(group) -> (channel groups, group size); Torch-Pruning's
        # __init__ already asks for channel groups
        return self.__dict__.setdefault('_group_shape', {})

    def _shape_of(self, group) -> Tuple[int, Optional[int]]:
        return self._shapes().get(id(group), (1, None))
