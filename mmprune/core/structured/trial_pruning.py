"""Many prunes of one model, each measured and then undone, on one traced
graph: the sensitivity scan prunes every block alone at several ratios,
and the allocation's fit tries its ratios, all from the same unpruned
model.

A copy of the model and a trace for each trial, as a prune of its own
takes, were a third of a trial's time (RTMDet-s at 640 px: 1 s of 3 s).
Here the model is pruned in place and put back after each trial:
Torch-Pruning swaps the tensors it prunes rather than editing them, so
references restore the modules (:func:`.model_check.snapshot_modules`),
and the graph is put back with them
(:class:`~mmprune.core.tp_backend.replay_graph.ReplayGraph`), as the model
check's roll-back search does.
"""
import contextlib
from typing import Callable, Iterator, Optional, Sequence

import torch.nn as nn

from ..tp_backend.replay_graph import ReplayGraph
from ..tracing import buffers_unchanged, build_dependency_graph
from .model_check import CHECKS, restore_modules, snapshot_modules
from .options import PruningOptions
from .result import StructuredPruningResult
from .stepping import MeasureFn, prune_uniform


class TrialPruning:
    """Prunes of ``model`` with the tracing batch ``data`` and the tracing
    forward ``forward_fn`` (chosen on the unpruned model), on one graph
    traced at the first prune."""

    def __init__(self, model: nn.Module, data: dict,
                 forward_fn: Callable) -> None:
        self.model, self.data, self.forward_fn = model, data, forward_fn
        self._graph: Optional[ReplayGraph] = None

    def _prune(self, opts: PruningOptions,
               gradient_data: Optional[Sequence[dict]],
               flops_fn: Optional[MeasureFn],
               checks: Sequence[str]) -> StructuredPruningResult:
        if self._graph is None:
            self._graph = ReplayGraph(
                build_dependency_graph(
                    self.model, self.data, forward_fn=self.forward_fn))
        return prune_uniform(
            self.model,
            self.data,
            opts,
            gradient_data,
            flops_fn,
            forward_fn=self.forward_fn,
            checks=checks,
            graph=self._graph)

    @contextlib.contextmanager
    def pruned(
            self,
            opts: PruningOptions,
            gradient_data: Optional[Sequence[dict]] = None,
            flops_fn: Optional[MeasureFn] = None,
            checks: Sequence[str] = CHECKS
    ) -> Iterator[StructuredPruningResult]:
        """The model pruned by ``opts`` (see :func:`.stepping.prune_uniform`
        for the arguments) inside the block, then as it was: its modules,
        parameter gradients, buffer values (a gradient criterion's forwards
        run in train mode) and mode, also when the block raises."""
        model = self.model
        modules = snapshot_modules(model.modules())
        gradients = [(p, p.grad) for p in model.parameters()]
        with buffers_unchanged(model):
            try:
                yield self._prune(opts, gradient_data, flops_fn, checks)
            finally:
                restore_modules(modules)
                for p, grad in gradients:
                    p.grad = grad

    def prune(self,
              opts: PruningOptions,
              gradient_data: Optional[Sequence[dict]] = None,
              flops_fn: Optional[MeasureFn] = None,
              checks: Sequence[str] = CHECKS) -> StructuredPruningResult:
        """The model pruned by ``opts`` for good: the last prune of these
        (the graph then describes the pruned model and is let go)."""
        try:
            return self._prune(opts, gradient_data, flops_fn, checks)
        finally:
            self._graph = None
