"""Torch-Pruning's group search, bounded: a search that finds its group
cannot be pruned (indices past a layer's width, one index standing for
several root channels) is doomed and stops once it runs away, and indices
a group holds at a layer already are not searched again."""
import pytest
import torch
import torch.nn as nn
import torch_pruning as tp
from torch_pruning.dependency import Dependency
from torch_pruning.dependency.index_mapping import _FlattenIndexMapping

from mmprune.core.tp_backend import guarded_graph
from mmprune.core.tp_backend.guarded_graph import (FoldedChannelsError,
                                                   GuardedDependencyGraph,
                                                   IndexedGroup,
                                                   IndexPastWidthError)


def _index(idx: int, root: int):
    return tp._helpers._HybridIndex(idx=idx, root_idx=root)


def _graph():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    graph = GuardedDependencyGraph().build_dependency(
        model, example_inputs=torch.randn(2, 4))
    return model, graph


def _dep(graph, layer: nn.Linear, out: bool) -> Dependency:
    node = graph.module2node[layer]
    pruner = graph.get_pruner_of_module(layer)
    fn = pruner.prune_out_channels if out else pruner.prune_in_channels
    return Dependency(fn, fn, source=node, target=node)


def test_an_index_past_a_layers_width_dooms_the_search(monkeypatch):
    model, graph = _graph()
    group = IndexedGroup(graph)
    group.add_dep(_dep(graph, model[2], out=False), [_index(2, 0)])
    group.add_dep(_dep(graph, model[2], out=True), [_index(1, 0)])
    assert group.doomed is None
    group.add_dep(_dep(graph, model[2], out=False), [_index(3, 0)])
    assert isinstance(group.doomed, IndexPastWidthError)
    assert 'channel 3 of 2, which has 3' in str(group.doomed)
    # the output side is measured against the output width
    other = IndexedGroup(graph)
    other.add_dep(_dep(graph, model[2], out=True), [_index(2, 0)])
    assert 'channel 2 of 2, which has 2' in str(other.doomed)
    # a doomed search runs on while its group stays near its size at the
    # doom, then stops with the reason
    monkeypatch.setattr(guarded_graph, 'DOOMED_MORE_ENTRIES', 1)
    monkeypatch.setattr(guarded_graph, 'DOOMED_MORE_INDICES', 10**6)
    doomed = IndexedGroup(graph)
    doomed.add_dep(_dep(graph, model[0], out=True), [_index(0, 0)])
    doomed.add_dep(_dep(graph, model[0], out=False), [_index(9, 0)])
    # one entry at the doom: up to 2 * 1 + 1 entries
    doomed.add_dep(_dep(graph, model[0], out=True), [_index(1, 1)])
    with pytest.raises(IndexPastWidthError):
        doomed.add_dep(_dep(graph, model[2], out=False), [_index(0, 0)])


def test_a_fold_of_several_root_channels_dooms_the_search():
    fold = _FlattenIndexMapping(stride=2, reverse=True)
    indices = [_index(0, 5), _index(1, 5), _index(2, 6)]
    # channels 0 and 1 of one root fold into index 0: a reshape over
    # channels, searched on as Torch-Pruning does
    assert sorted(guarded_graph._flatten_indices(fold, indices)) == \
        sorted(fold(indices)) == [_index(0, 5), _index(1, 6)]
    assert guarded_graph._folded_roots(fold(indices), 2) is None
    # the same fold of two roots' channels: not over channels; the search
    # running is told
    group = IndexedGroup()
    guarded_graph._searching.append(group)
    try:
        out = guarded_graph._flatten_indices(
            fold, [_index(0, 5), _index(1, 6)])
    finally:
        guarded_graph._searching.pop()
    assert len(out) == 2
    assert isinstance(group.doomed, FoldedChannelsError)
    assert 'stride 2' in str(group.doomed)


def test_indices_the_group_holds_at_a_layer_are_not_searched_again():
    model, graph = _graph()
    group = IndexedGroup(graph)
    dep = _dep(graph, model[0], out=True)
    group.add_dep(dep, [_index(0, 0), _index(2, 2)])
    group.add_dep(dep, [_index(1, 1)])
    # in another order, a subset, or spread over several of its lists
    assert group.has_pruning_op(dep, [_index(2, 2), _index(0, 0)])
    assert group.has_pruning_op(dep, [_index(2, 2)])
    assert group.has_pruning_op(dep, [_index(1, 1), _index(0, 0)])
    assert not group.has_pruning_op(dep, [_index(0, 0), _index(2, 0)])
    assert not group.has_pruning_op(
        _dep(graph, model[0], out=False), [_index(0, 0)])


class _Concat(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 6, 1)
        self.c = nn.Conv2d(10, 5, 1)

    def forward(self, x):
        return self.c(torch.cat([self.a(x), self.b(x)], dim=1))


def test_index_mappings_are_remembered_per_model_state(monkeypatch):
    """The mappings Torch-Pruning infers before each search are read back
    for a state of the model seen before, and equal a fresh inference."""
    from mmprune.core.structured.model_check import (restore_modules,
                                                     snapshot_modules)
    from mmprune.core.tp_backend.replay_graph import ReplayGraph

    def mappings(graph):
        return [(type(m).__name__, getattr(m, 'offset', None)) for dep in deps
                for m in dep.index_mapping if m is not None]

    inferred = []
    infer = guarded_graph._update_index_mapping
    monkeypatch.setattr(guarded_graph, '_update_index_mapping',
                        lambda graph: inferred.append(1) or infer(graph))
    model = _Concat()
    graph = GuardedDependencyGraph().build_dependency(
        model, example_inputs=torch.randn(1, 3, 4, 4))
    replay, snapshot = ReplayGraph(graph), snapshot_modules(model.modules())
    deps = graph.mapping_memo._deps
    out_a = graph.get_pruner_of_module(model.a).prune_out_channels
    out_b = graph.get_pruner_of_module(model.b).prune_out_channels

    inferred.clear()
    graph.get_pruning_group(model.a, out_a, [0])
    unpruned = mappings(graph)
    assert ('_ConcatIndexMapping', [4, 10]) in unpruned
    graph.get_pruning_group(model.b, out_b, [0]).prune()
    graph.get_pruning_group(model.a, out_a, [0, 1])
    assert ('_ConcatIndexMapping', [4, 9]) in mappings(graph)
    assert len(inferred) == 2  # the unpruned and the pruned model

    # the unpruned model again: read back, not inferred
    restore_modules(snapshot)
    replay.reset()
    graph.get_pruning_group(model.a, out_a, [1])
    assert len(inferred) == 2
    assert mappings(graph) == unpruned
    # and what inferring again gives
    graph.mapping_memo = None
    graph.get_pruning_group(model.a, out_a, [2])
    assert len(inferred) == 3
    assert mappings(graph) == unpruned
