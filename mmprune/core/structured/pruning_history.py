"""The pruned structure as plain data: Torch-Pruning's pruning history
(root layer name, out- or in-channel pruning, removed indices), replayed on
a freshly built model to rebuild the pruned one.

Plain lists of strings, bools and ints, so that a checkpoint carrying it
still loads with ``torch.load(weights_only=True)`` and a JSON report can
hold it.
"""
from typing import Callable, List, Optional, Sequence

import torch.nn as nn

from ..tp_backend.replay_graph import ReplayGraph
from ..tracing import build_dependency_graph, release_graph

PruningHistory = List[list]


def plain_history(history: Sequence) -> PruningHistory:
    """Torch-Pruning's history with every index a Python int."""
    return [[str(name), bool(is_out), [int(i) for i in idxs]]
            for name, is_out, idxs in history]


def check_history(history, source: str) -> PruningHistory:
    """``history`` if it has the shape of a pruning history, else an error
    naming ``source`` (a checkpoint, a report)."""
    try:
        return plain_history(history)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f'{source}: the pruning history is not a list of [layer name, '
            f'is_out_channel_pruning, [indices]] ({e})') from None


def replay_pruning_history(model: nn.Module,
                           data: dict,
                           history: Sequence,
                           forward_fn: Optional[Callable] = None) -> None:
    """Prune ``model`` (built from the unpruned config) in place exactly as
    the recorded ``history`` did: the same layers lose the same channels.
    ``data`` is a preprocessed batch for tracing; ``forward_fn`` the
    tracing forward when the caller has chosen it already (default:
    chosen on ``model``). A layer name the model lacks is an error naming
    it, raised before anything is pruned. Non-finite parameter values (a
    model built and not initialised) are set to 0 for the trace, as every
    trace does; a rebuilt model's values come from its checkpoint."""
    history = plain_history(history)
    if not history:
        return
    modules = dict(model.named_modules())
    missing = sorted({name for name, _, _ in history} - set(modules))
    if missing:
        raise ValueError(
            'the pruning history names layers this model does not have: '
            f'{", ".join(missing[:5])} (was it pruned from another config?)')
    was_training = model.training
    graph = build_dependency_graph(model, data, forward_fn=forward_fn)
    graph.load_pruning_history(history)
    release_graph(graph)
    model.train(was_training)


class HistoryReplayer:
    """Replays one history after another on ``model``, each from its
    unpruned state, on one traced graph (see
    :class:`~mmprune.core.tp_backend.replay_graph.ReplayGraph`): the
    roll-back search replays many prefixes of a history. The caller puts
    the model's unpruned modules back before each :meth:`replay`.
    ``replayed``: the last history replayed; ``reached[i]``: the layers
    its entry ``i``'s group pruned. ``graph``: one traced on the unpruned
    ``model`` already (the pruner's), else traced at the first replay."""

    def __init__(self,
                 model: nn.Module,
                 data: dict,
                 forward_fn: Optional[Callable] = None,
                 graph: Optional[ReplayGraph] = None) -> None:
        self.model, self.data, self.forward_fn = model, data, forward_fn
        self._graph = graph
        self.replayed: PruningHistory = []
        self.reached: List[set] = []

    def replay(self, history: Sequence) -> None:
        history = plain_history(history)
        self.replayed, self.reached = history, []
        if not history:
            return
        was_training = self.model.training
        if self._graph is None:
            self._graph = ReplayGraph(
                build_dependency_graph(
                    self.model, self.data, forward_fn=self.forward_fn))
        try:
            self._graph.replay(history)
        finally:
            self.reached = self._graph.reached
        self.model.train(was_training)
