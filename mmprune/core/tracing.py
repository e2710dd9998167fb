"""Dependency graphs of whole OpenMMLab models, traced through the loss.

Tracing ``mode='tensor'`` misses every branch that only feeds a loss (the
RPN of a two-stage detector, for one: Torch-Pruning then shrinks the FPN and
leaves ``rpn_conv`` at its old width). Tracing the summed training loss of a
real batch reaches every layer that takes part in training.
"""
import contextlib
from typing import Dict, Iterator, Optional, Sequence

import torch
import torch.nn as nn
import torch_pruning as tp

from .layer_pruners import pruner_for


def loss_forward(model: nn.Module, data: dict) -> torch.Tensor:
    """The summed training loss of an mmengine model on a preprocessed
    batch (``dict(inputs=..., data_samples=...)``)."""
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    return loss


class _Opaque(torch.autograd.Function):
    """Runs a layer as one autograd node whose only input is the layer's
    input, so the tracer sees the layer and not its inside. Only used while
    tracing: the graph is never back-propagated."""

    @staticmethod
    def forward(ctx, forward, *tensors: torch.Tensor) -> torch.Tensor:
        return forward(*tensors)

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - never called
        raise RuntimeError('an opaque tracing node cannot be differentiated')


@contextlib.contextmanager
def opaque_layers(model: nn.Module) -> Iterator[None]:
    """Make every layer with a registered pruner opaque to the tracer: its
    tensor inputs (a tensor, or a tuple of them first) are the node's only
    inputs; everything else is passed through unchanged."""
    patched = []
    for module in model.modules():
        if pruner_for(module) is None:
            continue
        original = module.forward

        def forward(first, *args, _f=original, **kwargs):
            if isinstance(first, torch.Tensor):
                return _Opaque.apply(lambda x: _f(x, *args, **kwargs), first)
            n = len(first)
            return _Opaque.apply(
                lambda *xs: _f(type(first)(xs[:n]), *args, **kwargs), *first)

        module.forward = forward
        patched.append((module, original))
    try:
        yield
    finally:
        for module, original in patched:
            module.forward = original


def build_dependency_graph(
        model: nn.Module,
        data: dict,
        ignored_layers: Optional[Sequence[nn.Module]] = None
) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model`` traced through
    :func:`loss_forward` on ``data``. Leaves the model in eval mode (the
    tracer's choice: BN statistics are not touched)."""
    pruners = {type(m): pruner_for(m) for m in model.modules()}
    customized: Dict = {t: p for t, p in pruners.items() if p is not None}
    with opaque_layers(model):
        return tp.DependencyGraph().build_dependency(
            model,
            example_inputs=data,
            forward_fn=loss_forward,
            customized_pruners=customized,
            ignored_layers=list(ignored_layers or []),
            verbose=False)
