"""Dependency graphs of whole OpenMMLab models, traced through the loss.

Tracing ``mode='tensor'`` misses every branch that only feeds a loss (the
RPN of a two-stage detector, for one: Torch-Pruning then shrinks the FPN and
leaves ``rpn_conv`` at its old width). Tracing the summed training loss of a
real batch reaches every layer that takes part in training.
"""
import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence

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


def tensor_forward(model: nn.Module, data: dict) -> List[torch.Tensor]:
    """Every tensor a ``mode='tensor'`` forward returns, flattened."""
    flat: List[torch.Tensor] = []

    def walk(out) -> None:
        if isinstance(out, torch.Tensor):
            flat.append(out)
        elif isinstance(out, (list, tuple)):
            for item in out:
                walk(item)
        elif isinstance(out, dict):
            for item in out.values():
                walk(item)

    walk(model(data['inputs'], data['data_samples'], mode='tensor'))
    return flat


@torch.no_grad()
def tensor_mode_reaches_all_layers(model: nn.Module, data: dict) -> bool:
    """Whether the tensor-mode forward runs every module that holds
    parameters (true for one-stage detectors, two-stage detectors and
    segmentors, whose heads all run in ``_forward``)."""
    holders = [m for m in model.modules()
               if next(m.parameters(recurse=False), None) is not None]
    ran = set()
    handles = [m.register_forward_hook(
        lambda mod, args, out: ran.add(id(mod))) for m in holders]
    was_training = model.training
    try:
        model.eval()
        tensor_forward(model, data)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return all(id(m) in ran for m in holders)


def choose_forward_fn(model: nn.Module, data: dict) -> Callable:
    """:func:`tensor_forward` when it reaches every layer and no layer
    pruner asks for the training forward, else :func:`loss_forward`."""
    needs_loss = any(p.needs_training_forward for p in
                     (pruner_for(m) for m in model.modules())
                     if p is not None)
    if needs_loss or not tensor_mode_reaches_all_layers(model, data):
        return loss_forward
    return tensor_forward


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


@contextlib.contextmanager
def all_parameters_require_grad(model: nn.Module) -> Iterator[None]:
    """Torch-Pruning traces through autograd: a layer whose parameters do
    not require grad (a frozen stage, an EMA copy) would be missing from
    the graph and its channels silently left out of their group."""
    frozen = [p for p in model.parameters() if not p.requires_grad]
    for p in frozen:
        p.requires_grad_(True)
    try:
        with torch.enable_grad():
            yield
    finally:
        for p in frozen:
            p.requires_grad_(False)


def build_dependency_graph(
        model: nn.Module,
        data: dict,
        ignored_layers: Optional[Sequence[nn.Module]] = None
) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model`` traced on ``data``
    through :func:`tensor_forward` when that reaches every layer and no
    layer pruner asks for the training forward, else through
    :func:`loss_forward` (RoI heads: see ``RoIExtractorPruner``). Tensor
    mode first because loss graphs can be huge: measured on RTMDet-tiny,
    its loss made Torch-Pruning's group search run for over 10 minutes;
    tensor mode takes 0.15 s. Leaves
    the model in eval mode (the tracer's choice: BN statistics are not
    touched)."""
    pruners = {type(m): pruner_for(m) for m in model.modules()}
    forward_fn = choose_forward_fn(model, data)
    customized: Dict = {t: p for t, p in pruners.items() if p is not None}
    with opaque_layers(model), all_parameters_require_grad(model):
        return tp.DependencyGraph().build_dependency(
            model,
            example_inputs=data,
            forward_fn=forward_fn,
            customized_pruners=customized,
            ignored_layers=list(ignored_layers or []),
            verbose=False)
