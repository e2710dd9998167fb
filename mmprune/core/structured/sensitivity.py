"""How much each part of a model suffers when it alone is pruned, and a
non-uniform choice of ratios from that: spend the FLOPs budget where the
loss rises least.

A *unit* is a module-name pattern (a backbone stage, a neck block, a head
branch). Pruning a unit alone at a ratio is a uniform prune with
``layer_ratios={unit: ratio}``, every other layer kept, undone once
measured; its damage is the rise of the training loss on a few fixed batches
(eval mode, so the BN statistics the pruned model inherits are the ones
measured), its gain the FLOPs it saves, or, for
``allocation='sensitivity_time'``, the share of the measured time it
saves (the unpruned and the pruned copy timed in alternation): the budget
then goes where time is spent, which is not where FLOPs are (depthwise
and high-resolution layers take more time per FLOP).
"""
import collections.abc
import contextlib
import gc
import random
import re
import time
from typing import (Callable, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

from ..model_family import default_protected
from ..tracing import (buffers_unchanged, choose_forward_fn, loss_forward,
                       zero_non_finite_parameters)
from .model_check import CHECKS, NothingPrunableError
from .options import PRUNABLE, PruningOptions
from .phase_clock import PhaseClock
from .sensitivity_cache import SensitivityScanCache
from .stage_outputs import StageOutputs
from .trial_pruning import TrialPruning


def default_units(model: nn.Module,
                  protected: Optional[Sequence[str]] = None) -> List[str]:
    """One unit per block of prunable layers, named by the first two parts
    of their names (``backbone.stage1``, ``neck.top_down_blocks``,
    ``bbox_head.cls_convs``); prediction layers are not units."""
    protected = default_protected() if protected is None else protected
    units = []
    for name, module in model.named_modules():
        if not isinstance(module, PRUNABLE) or \
                any(re.search(p, name) for p in protected):
            continue
        unit = '.'.join(name.split('.')[:2])
        if unit not in units:
            units.append(unit)
    return [rf'^{re.escape(u)}(\.|$)' for u in units]


def unit_label(pattern: str) -> str:
    """``^backbone\\.stage1(\\.|$)`` -> ``backbone.stage1``."""
    if pattern.startswith('^') and pattern.endswith(r'(\.|$)'):
        return pattern[1:-len(r'(\.|$)')].replace('\\', '')
    return pattern


@contextlib.contextmanager
def _same_random_draws(seed: int = 0) -> Iterator[None]:
    """The random numbers drawn inside are the same each time (torch,
    NumPy, Python), and the streams outside go on as if nothing was
    drawn: a two-stage detector's loss samples proposals at random, which
    without this moved Faster R-CNN's loss (800x1333, 4 batches) by up to
    0.008 between three runs of the same model, as much as pruning a
    ResNet stage alone by a quarter changed it."""
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def mean_loss(model: nn.Module, batches: Sequence[dict]) -> float:
    """The summed training loss averaged over ``batches``, in eval mode
    (BN running statistics, no dropout), with the same random draws each
    time (proposal sampling) and leaving every buffer as it was."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad(), buffers_unchanged(model), _same_random_draws():
            return float(
                sum(loss_forward(model, b).item()
                    for b in batches) / len(batches))
    finally:
        model.train(was)


def _alone(model: nn.Module, method: str,
           importance: Optional[Union[str, dict]], unit: str, ratio: float,
           round_to: Optional[int], ignored: Sequence[str],
           protected: Optional[Sequence[str]]) -> PruningOptions:
    """The options that prune ``unit`` alone at ``ratio``, checked."""
    opts = PruningOptions(
        method=method,
        importance=importance,
        layer_ratios={unit: ratio},
        round_to=round_to,
        ignored=list(ignored),
        protected=protected)
    opts.require_target()
    opts.check_model(model)
    return opts


class SensitivityScan:
    """The points of a scan, each measured when first asked for by
    :meth:`point`: each unit (module-name patterns; default
    :func:`default_units`) pruned alone at each of ``ratios`` with
    ``method``, its loss increase on ``batches`` and FLOPs saved
    (``flops_fn``) measured, and with ``time_saved_fn(pruned model)`` the
    share of the latency it saves.

    A trial is checked by the runs that measure it (its loss and its FLOPs
    count); only one whose measurement fails is pruned again with the
    whole model check, rolling back the groups that broke it. A group
    whose pruning breaks only the backward pass or ``predict`` is then
    counted in its point; the prune with the chosen ratios checks
    everything and rolls it back.

    ``cache_dir``: keep the points in a file there, named by the weights,
    the batches and the trial settings (see :mod:`.sensitivity_cache`); a
    scan with a stored point reuses it, so a second target costs no scan
    and a scan that died resumes.

    A point is ``dict(unit, ratio, loss, loss_increase, flops,
    flops_saved, params, kept)`` (plus ``time_saved``); ``kept`` names the
    unit's layers pruning left whole, with the reason.

    The allocation asks only for the next ratio of each block it may still
    cut, so a fit measures a part of the points (RTMDet-s at 640 px, 2x:
    25 of 36); :meth:`measure_all` measures the rest.

    Every trial prunes ``model`` itself and puts it back, on one traced
    graph: ``trials`` (:class:`.trial_pruning.TrialPruning`, which a caller
    shares with prunes of its own), by default on the first batch with
    ``forward_fn``; ``model`` is left as it was. ``clock``: where the
    trials' time is counted (phase ``scan``)."""

    def __init__(self,
                 model: nn.Module,
                 batches: Sequence[dict],
                 flops_fn: Callable[[nn.Module], float],
                 units: Optional[Sequence[str]] = None,
                 ratios: Sequence[float] = (0.25, 0.5, 0.75),
                 method: str = 'l1',
                 round_to: Optional[int] = 8,
                 ignored: Sequence[str] = (),
                 protected: Optional[Sequence[str]] = None,
                 progress: bool = True,
                 importance: Optional[Union[str, dict]] = None,
                 time_saved_fn: Optional[Callable[[nn.Module], float]] = None,
                 cache_dir: Optional[str] = None,
                 forward_fn: Optional[Callable] = None,
                 trials: Optional[TrialPruning] = None,
                 clock: Optional[PhaseClock] = None) -> None:
        self.model, self.batches, self.flops_fn = model, list(batches), \
            flops_fn
        self.units = list(units or default_units(model, protected))
        self.ratios = list(ratios)
        self.method, self.importance, self.round_to = method, importance, \
            round_to
        self.ignored, self.protected = list(ignored), protected
        self.progress, self.time_saved_fn = progress, time_saved_fn
        # the backbone's and neck's outputs, given back to the trials that
        # leave them as they are
        self.stage_outputs = StageOutputs(model)
        with self.stage_outputs.recording():
            self.base_loss = mean_loss(model, self.batches)
        self.base_flops = flops_fn(model)
        self.cache = None
        self._needs = ('time_saved', ) if time_saved_fn is not None else ()
        if cache_dir is not None:
            self.cache = SensitivityScanCache(
                cache_dir, model, self.batches,
                dict(
                    method=method,
                    importance=importance,
                    round_to=round_to,
                    ignored=self.ignored,
                    protected=None if protected is None else list(protected),
                    base_flops=self.base_flops))
        if trials is None:
            if forward_fn is None:
                zero_non_finite_parameters(model)
                forward_fn = choose_forward_fn(model, self.batches[0])
            trials = TrialPruning(model, self.batches[0], forward_fn)
        self.trials = trials
        # the trials' time, in the phase 'scan' whoever asks for a point
        self.clock = clock or PhaseClock()
        self._points: Dict[Tuple[str, float], dict] = {}
        self.measured = 0  # trials run (points read back not counted)
        if progress:
            stored = 0 if self.cache is None else self.cache.count(
                self.units, self.ratios, self._needs)
            print_log(
                f'sensitivity scan: {len(self.units)} blocks, each pruned '
                f'alone at ratios {self.ratios} ({method}; at most '
                f'{self.size} trials, each measured when needed)' +
                (f'; {stored} points stored in {self.cache.path}'
                 if stored else ''),
                logger='current')

    @property
    def size(self) -> int:
        return len(self.units) * len(self.ratios)

    def point(self, unit: str, ratio: float) -> dict:
        """``unit`` pruned alone at ``ratio``: ``dict(unit, ratio, loss,
        loss_increase, flops, flops_saved, params, kept)`` (plus
        ``time_saved``), measured now unless known or stored."""
        key = (unit, float(ratio))
        if key in self._points:
            return self._points[key]
        point = None if self.cache is None else self.cache.get(
            unit, ratio, self._needs)
        if point is None:
            start = time.perf_counter()
            with self.clock.phase('scan'):
                point = self._measure(unit, ratio)
            self.measured += 1
            if self.cache is not None:
                self.cache.put(point)
            if self.progress:
                print_log(
                    f'sensitivity point {self.measured} (at most '
                    f'{self.size}): {unit_label(unit)} at {ratio:.2f}: '
                    f'loss {point["loss"] - self.base_loss:+.4f}, FLOPs '
                    f'-{1.0 - point["flops"] / self.base_flops:.1%} '
                    f'({time.perf_counter() - start:.1f} s)',
                    logger='current')
        point = dict(
            point,
            loss_increase=point['loss'] - self.base_loss,
            flops_saved=1.0 - point['flops'] / self.base_flops)
        self._points[key] = point
        return point

    def measure_all(self) -> dict:
        """Every point; :meth:`as_dict`."""
        for unit in self.units:
            for ratio in self.ratios:
                self.point(unit, ratio)
        return self.as_dict()

    def as_dict(self) -> dict:
        """``dict(method, base_loss, base_flops, units, ratios, points)``
        with the points known so far, by unit and ratio."""
        return dict(
            method=self.method,
            base_loss=self.base_loss,
            base_flops=self.base_flops,
            units=self.units,
            ratios=self.ratios,
            points=[
                self._points[(u, float(r))] for u in self.units
                for r in self.ratios if (u, float(r)) in self._points
            ])

    def _measure(self, unit: str, ratio: float) -> dict:
        """``unit`` pruned alone at ``ratio``, measured: unchecked first
        (measuring runs it), with the model check and its roll-back when
        the measurement fails; the unpruned model's loss and FLOPs for a
        unit whose every group breaks it."""
        opts = _alone(self.model, self.method, self.importance, unit, ratio,
                      self.round_to, self.ignored, self.protected)
        try:
            return self._trial(opts, unit, ratio, checks=())
        except Exception:  # noqa: BLE001 - a group broke it: check, roll back
            gc.collect()
        try:
            return self._trial(opts, unit, ratio, checks=CHECKS)
        except NothingPrunableError as e:
            # every group of the unit broke the model: pruning it saves
            # nothing
            return self._unpruned_point(
                unit, ratio, [dict(name=unit_label(unit), reason=str(e))])

    def _unpruned_point(self, unit: str, ratio: float,
                        kept: List[dict]) -> dict:
        """The point of a trial that left the model as it was."""
        return dict(
            unit=unit,
            ratio=ratio,
            loss=self.base_loss,
            flops=self.base_flops,
            params=sum(p.numel() for p in self.model.parameters()),
            kept=kept,
            **({} if self.time_saved_fn is None else dict(time_saved=0.0)))

    def _trial(self, opts: PruningOptions, unit: str, ratio: float,
               checks: Sequence[str]) -> dict:
        with self.trials.pruned(
                opts, gradient_data=self.batches, checks=checks) as result:
            kept = [s for s in result.skipped if re.search(unit, s['name'])]
            if not result.history:
                # every layer of the unit kept (frozen, protected): the
                # model as it was, nothing to measure
                return self._unpruned_point(unit, ratio, kept)
            model = self.model
            with self.stage_outputs.reused():
                loss = mean_loss(model, self.batches)
            point = dict(
                unit=unit,
                ratio=ratio,
                loss=loss,
                flops=self.flops_fn(model),
                params=sum(p.numel() for p in model.parameters()),
                kept=kept)
            if self.time_saved_fn is not None:
                point['time_saved'] = self.time_saved_fn(model)
        return point


def prune_sensitivity(model: nn.Module, batches: Sequence[dict],
                      flops_fn: Callable[[nn.Module],
                                         float], *args, **kwargs) -> dict:
    """Every point of a :class:`SensitivityScan` (the same arguments):
    ``dict(method, base_loss, base_flops, units, ratios, points)``."""
    return SensitivityScan(model, batches, flops_fn, *args,
                           **kwargs).measure_all()


class _LazyCurve(collections.abc.Sequence):
    """A unit's points by rising ratio, each measured when first read."""

    def __init__(self, scan: SensitivityScan, unit: str) -> None:
        self.scan, self.unit = scan, unit
        self.ratios = sorted(scan.ratios)

    def __len__(self) -> int:
        return len(self.ratios)

    def __getitem__(self, i: int) -> dict:
        return self.scan.point(self.unit, self.ratios[i])


def _curves(
        sensitivity: Union[dict,
                           SensitivityScan]) -> Dict[str, Sequence[dict]]:
    """Each unit's points by rising ratio."""
    if isinstance(sensitivity, SensitivityScan):
        return {u: _LazyCurve(sensitivity, u) for u in sensitivity.units}
    curves: Dict[str, List[dict]] = {}
    for p in sensitivity['points']:
        curves.setdefault(p['unit'], []).append(p)
    for unit in curves:
        curves[unit].sort(key=lambda p: p['ratio'])
    return curves


def allocate_layer_ratios(
        sensitivity: Union[dict, SensitivityScan],
        speed_up: float,
        saved: str = 'flops_saved') -> Tuple[Dict[str, float], List[dict]]:
    """Per-unit ratios that save ``1 - 1/speed_up`` of the FLOPs (or, with
    ``saved='time_saved'``, of the measured latency) with the least summed
    loss increase, from the measured points: starting from nothing pruned,
    repeatedly take the unit step (its next measured ratio) that costs the
    least loss per share saved, until the savings add up to the target.
    From a :class:`SensitivityScan`, only the points these steps compare
    are measured: each unit's next ratio.
    Savings of separate units are taken to add up; the caller prunes with
    the result and measures the real speed-up.

    The last step is taken only as far as the target needs, its ratio
    interpolated between the unit's measured points.

    Returns ``(layer_ratios, choices)``: the ratio per unit pattern (units
    left at 0 are omitted) and, per step taken, why (its loss and its
    saving: ``loss_per_<saved>``, ``<saved>``, ``total_<saved>``;
    ``interpolated`` on a partial last step)."""
    if saved not in ('flops_saved', 'time_saved'):
        raise ValueError(f'saved = {saved!r}: flops_saved or time_saved')
    if speed_up <= 1:
        raise ValueError(f'speed_up = {speed_up}: must be > 1')
    need = 1.0 - 1.0 / speed_up
    curves = _curves(sensitivity)
    at = {u: -1 for u in curves}  # index of the chosen point, -1: unpruned
    total = 0.0
    choices = []

    def step_cost(unit: str) -> Optional[Tuple[float, dict]]:
        i = at[unit]
        if i + 1 >= len(curves[unit]):
            return None
        nxt = curves[unit][i + 1]
        prev_loss = 0.0 if i < 0 else curves[unit][i]['loss_increase']
        prev_saved = 0.0 if i < 0 else curves[unit][i][saved]
        gain = nxt[saved] - prev_saved
        if gain <= 1e-9:
            return None  # saves nothing more (e.g. every layer kept)
        # a loss that falls is no cost (clamped at 0)
        return max(0.0, nxt['loss_increase'] - prev_loss) / gain, nxt

    while total < need:
        options = [(c, u, p) for u in curves
                   for c, p in [step_cost(u) or (None, None)] if c is not None]
        if not options:
            break
        cost, unit, point = min(options, key=lambda o: o[0])
        prev_saved = 0.0 if at[unit] < 0 else \
            curves[unit][at[unit]][saved]
        at[unit] += 1
        total += point[saved] - prev_saved
        choices.append({
            'unit': unit,
            'ratio': point['ratio'],
            f'loss_per_{saved}': cost,
            'loss_increase': point['loss_increase'],
            saved: point[saved],
            f'total_{saved}': total
        })
    ratios = {u: curves[u][i]['ratio'] for u, i in at.items() if i >= 0}
    if choices and total > need + 1e-9:
        _interpolate_last_step(curves, at, choices, ratios, need, saved)
    return ratios, choices


def _interpolate_last_step(curves: Dict[str, Sequence[dict]], at: Dict[str,
                                                                       int],
                           choices: List[dict], ratios: Dict[str, float],
                           need: float, saved: str) -> None:
    """The measured ratios are coarse (a quarter of a block's channels
    apart), so a whole last step overshoots the target. Take only the part
    of it that is needed: its ratio interpolated between the block's two
    measured points, its savings taken to grow linearly between them."""
    last = choices[-1]
    unit = last['unit']
    i = at[unit]
    prev = curves[unit][i - 1] if i > 0 else dict(ratio=0.0, **{saved: 0.0})
    gain = curves[unit][i][saved] - prev[saved]
    before = last[f'total_{saved}'] - gain
    part = min(1.0, max(0.0, (need - before) / gain))
    ratio = prev['ratio'] + part * (curves[unit][i]['ratio'] - prev['ratio'])
    ratios[unit] = ratio
    last.update({
        'ratio': ratio,
        'interpolated': True,
        saved: prev[saved] + part * gain,
        f'total_{saved}': before + part * gain
    })


def fit_layer_ratios(
    sensitivity: Union[dict, SensitivityScan],
    speed_up: float,
    speed_up_of: Callable[[Dict[str, float]], float],
    max_tries: int = 20,
    saved: str = 'flops_saved'
) -> Tuple[Dict[str, float], List[dict], List[dict]]:
    """:func:`allocate_layer_ratios`, checked: blocks pruned together save
    less than their savings alone add up to (a stage's output channels are
    the next block's input), so each allocation's real speed-up is measured
    by ``speed_up_of(layer_ratios)`` (pruning a copy) and, while it falls
    short, the allocation is asked again for more, in the proportion
    measured. When a request is met by the same allocation (every step
    taken, or the last step at a measured point), it is asked for just
    past its savings, so the next try takes at least one more step.

    ``saved``: what the points' savings measure (``flops_saved``, or
    ``time_saved`` for a latency target, ``speed_up_of`` then measuring
    latency).

    Returns ``(layer_ratios, choices, tries)``: the last allocation, why
    each of its steps was taken, and every try with its measured speed-up.
    """
    target_saved = 1.0 - 1.0 / speed_up
    asked, ratios, choices, tries = target_saved, None, [], []
    while len(tries) < max_tries:
        new, why = allocate_layer_ratios(sensitivity, 1.0 / (1.0 - asked),
                                         saved)
        if new == ratios:
            estimated = why[-1][f'total_{saved}'] if why else 0.0
            if asked > estimated or estimated >= 0.999:
                break  # every measured step is taken: nothing more to ask
            asked = min(0.999, estimated + 1e-6)
            continue
        ratios, choices = new, why
        got = speed_up_of(ratios)
        tries.append({
            f'asked_{saved}': asked,
            'layer_ratios': ratios,
            'speed_up': got
        })
        print_log(
            f'sensitivity allocation, try {len(tries)}: asked for '
            f'{1.0 / (1.0 - asked):.2f}x, measured {got:.2f}x (target '
            f'{speed_up}x) with {len(ratios)} blocks cut',
            logger='current')
        if got >= speed_up:
            break
        # blocks pruned together save a share of what they save alone:
        # ask for more in the measured proportion (a little past it, so
        # that each try moves)
        got_saved = 1.0 - 1.0 / got
        if got_saved > 0:
            asked = min(0.999, asked * target_saved / got_saved + 1e-4)
        else:
            asked = min(0.999, asked + target_saved)
    return ratios, choices, tries
