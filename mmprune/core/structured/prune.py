"""``prune_model``: one-shot or stepwise structured channel pruning of an
OpenMMLab model, without the runner. It checks the options and hands them
to the uniform stepping loop (:mod:`.stepping`) or to sensitivity
allocation (:mod:`.allocation`)."""
import dataclasses
from typing import Callable, List, Optional, Sequence, Union

import torch.nn as nn

from .allocation import prune_by_sensitivity
from .layers import kept_layers_of
from .options import MEASURED, PruningOptions
from .result import StructuredPruningResult
from .stepping import prune_uniform


def prune_model(model: nn.Module,
                data: dict,
                method: Union[str, PruningOptions] = 'l1',
                gradient_data: Optional[Sequence[dict]] = None,
                flops_fn: Optional[Callable[[nn.Module], float]] = None,
                latency_fn: Optional[Callable[[nn.Module], float]] = None,
                latency_reference: Optional[nn.Module] = None,
                round_to_fn: Optional[Callable[[nn.Module, List[str]],
                                               dict]] = None,
                sensitivity_cache: Optional[str] = None,
                **options) -> StructuredPruningResult:
    """Prune ``model`` in place.

    ``method`` is a criterion name with the other :class:`PruningOptions`
    as keywords (``ratio=0.3``, ``speed_up=2.0``, ``round_to=8``, ...), or
    a built :class:`PruningOptions`. ``ratio``: the share of channels
    removed from every prunable group (``layer_ratios`` overrides it per
    module-name pattern). ``speed_up``: remove channels in up to
    ``max_steps`` equal steps until ``flops_fn(model)`` has fallen by that
    factor; a target not reached is said in the result (``target_reached``,
    ``limit``), and is an error with ``strict_target``.
    ``latency_speed_up``: the same, stepping until ``latency_fn(model)``
    (measured milliseconds) has fallen by that factor against
    ``latency_fn`` of a copy of the unpruned model, timed again beside it
    at every step (or of ``latency_reference``, the model the target is
    measured against: iterative schedules give the unpruned model, so each
    prune point reaches its share of the whole target; when ``model``
    already meets it, nothing is pruned). The protected layers (prediction
    layers, input stem unless ``prune_stem``) and ``ignored`` patterns keep
    their output channels. Gradient criteria use ``gradient_data`` (default:
    ``[data]``). ``round_to='measured'``: ``round_to_fn(model, kept layer
    names)`` measures widths and returns ``dict(round_to=, ...)`` (see
    ``mmprune.analysis.width_latency.round_to_measure``), kept in the
    result's ``round_to_choice``. ``sensitivity_cache``: a folder where
    the sensitivity scan of ``allocation='sensitivity'`` keeps its points,
    so that another target on the same weights and batches reuses them
    (see :mod:`~mmprune.core.structured.sensitivity_cache`).
    """
    opts = method if isinstance(method, PruningOptions) else \
        PruningOptions(method=method, **options)
    opts.require_target()
    if opts.speed_up is not None and flops_fn is None:
        raise ValueError('speed_up needs flops_fn to measure FLOPs')
    if opts.latency_speed_up is not None and latency_fn is None:
        raise ValueError('latency_speed_up needs latency_fn to measure '
                         'latency')
    opts.check_model(model)
    choice = None
    if opts.round_to == MEASURED:
        if round_to_fn is None:
            raise ValueError(f"round_to='{MEASURED}' needs round_to_fn to "
                             'time widths on the target runtime')
        kept, _ = kept_layers_of(model, opts)
        choice = round_to_fn(model, kept)
        opts = dataclasses.replace(opts, round_to=choice['round_to'])
    if opts.allocation == 'uniform':
        result = prune_uniform(model, data, opts, gradient_data, flops_fn,
                               latency_fn, latency_reference)
    else:
        result = prune_by_sensitivity(model, data, opts, gradient_data,
                                      flops_fn, latency_fn, latency_reference,
                                      sensitivity_cache)
    result.round_to_choice = choice
    return result
