"""Sensitivity allocation: a ``speed_up`` or ``latency_speed_up`` target
met with non-uniform ratios, spent where pruning hurts the loss least (the
scan and the fit are in :mod:`.sensitivity`; each try is one uniform
prune of :mod:`.stepping`)."""
import copy
from typing import Callable, Dict, Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log

from ..tracing import choose_forward_fn, zero_non_finite_parameters
from .options import PruningOptions
from .phase_clock import PhaseClock
from .result import (StructuredPruningResult, TargetNotReachedError,
                     stated_target)
from .sensitivity import SensitivityScan, fit_layer_ratios
from .stepping import paired_latency
from .trial_pruning import TrialPruning


def flops_by_widths(
        flops_fn: Callable[[nn.Module],
                           float]) -> Callable[[nn.Module], float]:
    """``flops_fn`` counted once per set of layer widths: the FLOPs at a
    fixed input size follow from the widths, and an allocation counts the
    same ones again and again (the unpruned model before every try, the
    model handed back after the try with its ratios)."""
    counted: Dict[tuple, float] = {}

    def flops(model: nn.Module) -> float:
        widths = tuple(
            (n, tuple(p.shape)) for n, p in model.named_parameters())
        if widths not in counted:
            counted[widths] = flops_fn(model)
        return counted[widths]

    return flops


def prune_by_sensitivity(
        model: nn.Module,
        data: dict,
        opts: PruningOptions,
        gradient_data: Optional[Sequence[dict]],
        flops_fn: Optional[Callable[[nn.Module], float]],
        latency_fn: Optional[Callable[[nn.Module], float]],
        latency_reference: Optional[nn.Module],
        cache_dir: Optional[str] = None) -> StructuredPruningResult:
    """``speed_up`` (or ``latency_speed_up``) with non-uniform ratios: every
    block pruned alone at several ratios (each prune undone once measured;
    only the points the allocation compares), the FLOPs spent where the
    loss rose least, then one prune with the chosen ``layer_ratios``.
    Blocks pruned together save less than the sum of their savings alone,
    so the allocation is tried (and undone) and, while it falls short,
    asked for more. All of these prune on one traced graph. For a latency
    target each try is timed in alternation with the unpruned model, and
    a try that meets the target is timed again.
    ``allocation='sensitivity_time'`` spends measured time instead of
    FLOPs; where those savings are within the timing's spread, the
    allocation follows the noise. ``cache_dir``: where the scan keeps its
    points (see :func:`.sensitivity.prune_sensitivity`)."""
    if flops_fn is None:
        raise ValueError(f"allocation = '{opts.allocation}' needs flops_fn "
                         '(the FLOPs of each block pruned alone)')
    batches = list(gradient_data or [data])
    by_latency = opts.latency_speed_up is not None
    by_time = opts.allocation == 'sensitivity_time'

    target = opts.latency_speed_up if by_latency else opts.speed_up
    reference = None
    if by_latency:
        reference = latency_reference if latency_reference is not None \
            else copy.deepcopy(model)

    def time_saved(trial: nn.Module) -> float:
        before, after = paired_latency(latency_fn, reference, trial,
                                       opts.latency_rounds)
        return 1.0 - after / before

    clock = PhaseClock()
    flops_fn = flops_by_widths(flops_fn)
    with clock.phase('scan'):
        # every trial and try prunes the same unpruned architecture: one
        # tracing forward, one traced graph
        zero_non_finite_parameters(model)
        trials = TrialPruning(model, data, choose_forward_fn(model, data))
        scan = SensitivityScan(
            model,
            batches,
            flops_fn,
            ratios=opts.sensitivity_ratios,
            method=opts.method,
            importance=opts.importance,
            round_to=opts.round_to,
            ignored=opts.ignored,
            protected=opts.protected,
            time_saved_fn=time_saved if by_time else None,
            cache_dir=cache_dir,
            trials=trials,
            clock=clock)
    one_shot = opts.replace(
        speed_up=None,
        latency_speed_up=None,
        allocation='uniform',
        strict_target=False)

    def speed_up_of(ratios: Dict[str, float]) -> float:
        with trials.pruned(
                one_shot.replace(layer_ratios=ratios), gradient_data,
                flops_fn) as tried:
            got = tried.speed_up
            if by_latency:
                got = 1.0 / (1.0 - time_saved(model))
                if got >= target:  # a lucky reading must not end the fit
                    got = 1.0 / (1.0 - time_saved(model))
        return got

    # the fit asks for the points it compares: they are measured then,
    # their time counted in 'scan'
    with clock.phase('fit'):
        ratios, choices, tries = fit_layer_ratios(
            scan,
            target,
            speed_up_of,
            opts.max_steps,
            saved='time_saved' if by_time else 'flops_saved')
    scanned = scan.as_dict()
    print_log(
        f'sensitivity scan: {scan.measured} trials run, '
        f'{len(scanned["points"])} of {scan.size} points used (the '
        'allocation needs no others)',
        logger='current')
    result = trials.prune(
        one_shot.replace(layer_ratios=ratios), gradient_data, flops_fn)
    result.seconds = {**clock.rounded(), **result.seconds}
    _record_allocation(result, opts, ratios, choices, tries, scanned)
    got = result.speed_up
    if by_latency:
        _record_latency(result, latency_fn, reference, model, opts, tries)
        got = result.latency_speed_up
    if got < target:
        _not_reached(result, opts, target, got, tries, scan.ratios, by_latency)
    return result


def _record_allocation(result: StructuredPruningResult, opts: PruningOptions,
                       ratios: Dict[str, float], choices: list, tries: list,
                       sensitivity: dict) -> None:
    result.target = stated_target(opts)
    result.allocation = dict(
        layer_ratios=ratios,
        choices=choices,
        tries=tries,
        base_loss=sensitivity['base_loss'],
        points=sensitivity['points'])


def _record_latency(result: StructuredPruningResult,
                    latency_fn: Callable[[nn.Module], float],
                    reference: nn.Module, model: nn.Module,
                    opts: PruningOptions, tries: list) -> None:
    """The model handed back timed once more for the report, beside each
    try's measurement."""
    result.latency_before, result.latency_after = paired_latency(
        latency_fn, reference, model, opts.latency_rounds)
    result.latency_checks = [
        dict(step=i + 1, speed_up=round(t['speed_up'], 4))
        for i, t in enumerate(tries)
    ]


def _not_reached(result: StructuredPruningResult, opts: PruningOptions,
                 target: float, got: float, tries: list,
                 scanned_ratios: Sequence[float], by_latency: bool) -> None:
    """Say in ``result`` why the allocation fell short of ``target`` (an
    error with ``strict_target``)."""
    what = 'latency_speed_up' if by_latency else 'speed_up'
    result.target_reached = False
    if tries and tries[-1]['speed_up'] >= target:
        # the fit's confirmed try met it; the last measurement did not
        result.limit = (
            f'the chosen ratios measured {tries[-1]["speed_up"]:.2f}x '
            f'in their try (confirmed) and {got:.2f}x on the model '
            'handed back: the target is within the spread of the '
            'latency measurement on this machine; more '
            'latency_rounds narrow it')
    else:
        result.limit = (
            'the ratios chosen from the sensitivity points (each block '
            'pruned alone at ratios '
            f'{list(scanned_ratios)}, tried as in allocation.tries) '
            f'reach {got:.2f}x' +
            (' measured on the model handed back' if by_latency else '') +
            ': blocks pruned together save less than their measured '
            'savings add up to, and the largest measured ratios are not '
            'enough; add a larger ratio to sensitivity_ratios or use '
            "allocation='uniform'")
    if opts.strict_target:
        raise TargetNotReachedError(
            f'{what}={target} was not reached: {got:.2f}x. '
            f'{result.limit}')
