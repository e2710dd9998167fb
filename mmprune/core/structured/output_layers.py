"""Output layers found by structure, not by name.

A layer whose output channels reach no further layer (no conv, linear or
attention takes them as input channels) produces a task dimension: class
scores, box or angle parameters, heatmaps, offsets, mask or segmentation
logits. Its width must stay whatever the head is called; the name list
(the model families' prediction layers) remains as an explicit override.
"""
from typing import Dict, List, Sequence

import torch.nn as nn
import torch_pruning as tp

from .options import PRUNABLE

STRUCTURE_REASON = ('protected by structure: its output channels reach no '
                    'further layer (a task dimension such as classes, box '
                    'or angle parameters, heatmaps, offsets or logits)')


def _consumes(graph: tp.DependencyGraph, handler) -> bool:
    """An input-channel pruning function that is not also the layer's
    output one (norms and element-wise layers use one function for both)."""
    return graph.is_in_channel_pruning_fn(handler) and \
        not graph.is_out_channel_pruning_fn(handler)


def task_output_layers(graph: tp.DependencyGraph, ignored: Sequence[nn.Module],
                       root_types: Sequence[type]) -> List[nn.Module]:
    """The prunable layers of every group whose channels no layer
    consumes."""
    found: Dict[nn.Module, None] = {}
    for group in graph.get_all_groups(
            ignored_layers=list(ignored), root_module_types=root_types):
        if any(_consumes(graph, dep.handler) for dep, _ in group):
            continue
        for dep, _ in group:
            m = dep.target.module
            if isinstance(m, PRUNABLE) and \
                    graph.is_out_channel_pruning_fn(dep.handler):
                found[m] = None
    return list(found)
