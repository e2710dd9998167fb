"""Concatenated branches inside one Torch-Pruning group.

Where the outputs of several layers are concatenated and a layer reads the
whole concat channel-wise (a CSPNeXt block's main and short branch, both
scaled by its channel attention), Torch-Pruning puts all branches in one
group. Weight inheritance and structured pruning must then treat each
branch's channels on their own.
"""
from typing import Dict, List, Tuple

import torch.nn as nn
import torch_pruning as tp


def branch_producers(graph: tp.DependencyGraph,
                     group) -> Dict[Tuple[int, ...], List[nn.Module]]:
    """The group's root-index ranges that out-channel producers cover only
    in part (one per concatenated branch), each with its producers."""
    total = len(group[0].root_idxs)
    branches: Dict[Tuple[int, ...], List[nn.Module]] = {}
    for item in group:
        if not graph.is_out_channel_pruning_fn(item.dep.handler):
            continue
        roots = tuple(sorted(set(item.root_idxs)))
        if 0 < len(roots) < total:
            branches.setdefault(roots, []).append(item.dep.target.module)
    return branches
