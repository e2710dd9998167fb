"""One traced dependency graph that replays many pruning histories on the
same model, each from its unpruned state.

The model check's roll-back search replays prefixes of a history, each on
the model restored to its unpruned modules. Tracing and building a graph
for each was most of the search's time (DDQ-DETR: about 8 s a replay at
128 px). A graph built once serves them all when what pruning changes in
it is put back with the modules: the nodes of unwrapped parameters
(Torch-Pruning swaps the parameter objects it prunes) and the channel
sizes that concatenations and splits record at their first index mapping.
Torch-Pruning has no reset for a graph (``load_pruning_history`` assumes a
fresh one), hence this module.

The graph keeps, of each traced autograd node, only the fields its index
mappings read (``_saved_dim``, the saved sizes); the nodes themselves hold
the trace's activations (about 2 GB for DINO's training loss).
"""
from typing import Sequence

from torch_pruning import ops

from .guarded_graph import GuardedDependencyGraph

# what Torch-Pruning's index mappings and shape inference read from an
# autograd node after the trace
_SAVED_FIELDS = ('_saved_dim', '_saved_self_sizes', '_saved_self_sym_sizes',
                 '_saved_split_size', '_saved_split_sizes')
# the ops whose channel sizes the first index mapping records
_SIZED_OPS = (ops._ConcatOp, ops._SplitOp, ops._UnbindOp)
_SIZES = ('offsets', 'concat_sizes', 'split_sizes')


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


class ReplayGraph:
    """``graph`` (traced on the unpruned model) made replayable:
    :meth:`replay` puts its state back as it was at construction and loads
    a pruning history; the caller restores the model's modules first."""

    def __init__(self, graph: GuardedDependencyGraph) -> None:
        for node in graph.module2node.values():
            if node.grad_fn is not None:
                node.grad_fn = _SavedFields(node.grad_fn)
        self.graph = graph
        self._module2node = dict(graph.module2node)
        self._param_to_name = dict(graph._param_to_name)
        self._node_modules = [(n, n.module)
                              for n in graph.module2node.values()]
        self._sizes = [(n.module, {
            k: getattr(n.module, k, None)
            for k in _SIZES
        }) for n in graph.module2node.values()
                       if isinstance(n.module, _SIZED_OPS)]

    def replay(self, history: Sequence) -> None:
        graph = self.graph
        graph.module2node = dict(self._module2node)
        graph._param_to_name = dict(self._param_to_name)
        for node, module in self._node_modules:
            node.module = module
        for op, sizes in self._sizes:
            for k, v in sizes.items():
                setattr(op, k, None if v is None else list(v))
        graph.failed.clear()
        graph.unmapped.clear()
        graph.load_pruning_history(history)
