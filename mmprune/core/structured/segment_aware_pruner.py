"""Torch-Pruning's BasePruner, with concatenated branches pruned alike.

Torch-Pruning picks the channels to remove across all branches of a concat
group (see ``mmprune.core.concat_branches``): measured on RTMDet-tiny with
``group_hessian``, a 24+24 group kept 23+9 channels, so ``round_to=8``
held for the group but not for either conv. Treating equal-sized branches
as channel groups (Torch-Pruning's own mechanism for grouped convs)
removes the same count from each branch, rounded per branch.
"""
import sys
from typing import List, Tuple

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

    def _get_channel_groups(self, group) -> int:
        groups = super()._get_channel_groups(group)
        if groups > 1:
            return groups
        return len(concat_segments(self.DG, group)) or 1

    def _round_to(self, n_pruned: int, current_channels: int,
                  round_to: int) -> int:
        # Torch-Pruning 1.6.1 rounds the width of all channel groups
        # together (current_channels) with the count removed from each
        # (n_pruned): a 24+24 concat kept 8+8 channels with round_to=16.
        # Its loop does not pass the group size, so it is read from the
        # caller's frame (the loop variable ``group_size``) and each
        # group's own width is rounded; the test of measured rounding
        # fails if a Torch-Pruning release renames it.
        caller = sys._getframe(1).f_locals
        groups = caller.get('ch_groups', 1)
        size = caller.get('group_size')
        if groups > 1 and isinstance(size, int) and 0 < n_pruned <= size:
            kept = size - n_pruned
            return size - (kept - kept % round_to)
        return super()._round_to(n_pruned, current_channels, round_to)
