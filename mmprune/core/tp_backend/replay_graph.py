"""One traced dependency graph that replays many pruning histories on the
same model, each from its unpruned state, and a graph's hold on its
trace's activations dropped.

The model check's roll-back search replays prefixes of a history, each on
the model restored to its unpruned modules. Tracing and building a graph
for each was most of the search's time (DDQ-DETR: about 8 s a replay at
128 px). A graph built once serves them all when what pruning changes in
it is put back with the modules: the nodes of unwrapped parameters
(Torch-Pruning swaps the parameter objects it prunes) and the state of its
operation nodes (the channel sizes of concatenations and splits, the
bounds of slices), which Torch-Pruning's pruning functions edit. It has no
reset for a graph (``load_pruning_history`` assumes a fresh one), hence
this module.
"""
import copy
from typing import List, Sequence, Set

import torch.nn as nn
import torch_pruning as tp

from .guarded_graph import GuardedDependencyGraph

# what Torch-Pruning's index mappings, shape inference and pruning
# functions read from an autograd node after the trace
_SAVED_FIELDS = ('_saved_dim', '_saved_self_sizes', '_saved_self_sym_sizes',
                 '_saved_split_size', '_saved_split_sizes', '_saved_start',
                 '_saved_end', '_saved_step')


class _SavedFields:
    """An autograd node's saved fields and name, without its tensors."""

    def __init__(self, grad_fn) -> None:
        self._name = grad_fn.name() if hasattr(grad_fn, 'name') else ''
        for field in _SAVED_FIELDS:
            try:
                setattr(self, field, getattr(grad_fn, field))
            except (AttributeError, RuntimeError):
                pass  # absent: hasattr() must say so, as on the node

    def name(self) -> str:
        return self._name


def drop_activations(graph: tp.DependencyGraph) -> None:
    """Replace the autograd nodes ``graph`` keeps from its trace (on its
    nodes, and on the slice operations Torch-Pruning builds from them) by
    the fields it reads from them. Each node holds the activations its
    backward would need: a traced DINO training loss kept about 2 GB alive
    for as long as the graph."""
    for node in graph.module2node.values():
        for holder in (node, node.module):
            grad_fn = getattr(holder, 'grad_fn', None)
            if grad_fn is not None and not isinstance(grad_fn, _SavedFields):
                holder.grad_fn = _SavedFields(grad_fn)


def _operations(graph: tp.DependencyGraph) -> list:
    """The operation nodes' modules (concatenations, splits, slices, ...):
    Torch-Pruning's own, not the model's."""
    return [
        n.module for n in graph.module2node.values()
        if isinstance(n.module, nn.Module)
        and type(n.module).__module__ == tp.ops.__name__
    ]


def _state(op: nn.Module) -> dict:
    """What pruning may change in an operation node: its own attributes
    (sizes, offsets, bounds, shape), copied deeply, as Torch-Pruning edits
    some of these lists in place (a concatenation's sizes, an output's
    shape); not its autograd fields, which nothing edits."""
    return {
        k: copy.deepcopy(v)
        for k, v in vars(op).items()
        if not k.startswith('_') and k != 'grad_fn'
    }


def group_layers(group) -> Set[nn.Module]:
    """The model's layers a Torch-Pruning group prunes (not the operation
    nodes it wraps concatenations and splits in)."""
    return {
        dep.target.module
        for dep, _ in group if isinstance(dep.target.module, nn.Module)
        and type(dep.target.module).__module__ != tp.ops.__name__
    }


class ReplayGraph:
    """``graph`` (traced on the unpruned model) made replayable:
    :meth:`replay` puts its state back as it was at construction and loads
    a pruning history, :meth:`reset` only puts it back (a pruner then
    prunes on it); the caller restores the model's modules first.
    ``reached[i]``: the model's layers the group of the last replay's
    entry ``i`` pruned."""

    def __init__(self, graph: GuardedDependencyGraph) -> None:
        drop_activations(graph)
        self.graph = graph
        self._module2node = dict(graph.module2node)
        self._param_to_name = dict(graph._param_to_name)
        self._node_modules = [(n, n.module)
                              for n in graph.module2node.values()]
        self._operations = [(op, _state(op)) for op in _operations(graph)]
        self.reached: List[Set[nn.Module]] = []

    def replay(self, history: Sequence) -> None:
        graph = self.graph
        graph.module2node = dict(self._module2node)
        graph._param_to_name = dict(self._param_to_name)
        for node, module in self._node_modules:
            node.module = module
        for op, state in self._operations:
            vars(op).update(copy.deepcopy(state))
        graph.failed.clear()
        graph.unmapped.clear()
        self.reached = []
        search = graph.get_pruning_group

        def recorded_search(module, pruning_fn, idxs):
            # Torch-Pruning's replay searches one group per entry
            group = search(module, pruning_fn, idxs)
            self.reached.append(group_layers(group))
            return group

        graph.get_pruning_group = recorded_search
        try:
            # a list of its own: pruning appends to the graph's history
            graph.load_pruning_history(list(history))
        finally:
            del graph.get_pruning_group

    def reset(self) -> None:
        self.replay([])
