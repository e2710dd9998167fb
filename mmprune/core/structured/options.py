"""The options of structured pruning, defined and checked in one place.

``prune_model``, ``StructuredPruningHook`` and ``tools/prune.py`` all take
their pruning options through :class:`PruningOptions`: everything that can
be checked without the model (ranges, patterns, method and batch
combinations) fails when it is built, before any model exists; the patterns
are checked against the model by :meth:`PruningOptions.check_model` before
any channel is touched.
"""
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn

from ..criteria import Criterion, build_criterion
from ..module_patterns import check_pattern, matching_modules
from .methods import get_pruning_method

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

LATENCY_RUNTIMES = ('torch', 'onnxruntime')
#: the default allocation: ``sensitivity`` for a one-shot ``speed_up``
#: target (the best recipe on a converged model, docs/en/notes/
#: benchmarks.md), ``uniform`` for every other target
AUTO = 'auto'
ALLOCATIONS = (AUTO, 'uniform', 'sensitivity', 'sensitivity_time')
# round_to chosen by measuring widths on the target runtime
MEASURED = 'measured'


def check_target(ratio: Optional[float],
                 speed_up: Optional[float],
                 latency_speed_up: Optional[float] = None) -> None:
    given = [x is not None for x in (ratio, speed_up, latency_speed_up)]
    if sum(given) != 1:
        raise ValueError(
            'give exactly one of ratio, speed_up and latency_speed_up (got '
            f'ratio={ratio}, speed_up={speed_up}, latency_speed_up='
            f'{latency_speed_up})')
    if latency_speed_up is not None and not (is_finite_number(latency_speed_up)
                                             and latency_speed_up > 1):
        raise ValueError(f'latency_speed_up = {latency_speed_up}: must be '
                         '> 1 and finite (a measured latency reduction '
                         'factor)')
    if ratio is not None and not (is_finite_number(ratio) and 0 <= ratio < 1):
        raise ValueError(f'ratio = {ratio}: must be in [0, 1)')
    if speed_up is not None and not (is_finite_number(speed_up)
                                     and speed_up > 1):
        raise ValueError(f'speed_up = {speed_up}: must be > 1 and finite '
                         '(a FLOPs reduction factor)')


def is_finite_number(x) -> bool:
    """A real, finite number (not a bool, NaN or an infinity)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and \
        math.isfinite(x)


def is_integer(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass
class PruningOptions:
    """What to prune and how far.

    Args:
        method: a name in ``mmprune.registry.PRUNING_METHODS`` (``l1``,
            ``group_taylor`` ...): a criterion, and for the sparse-training
            methods a penalty before pruning.
        importance: the criterion ranking channels instead of the
            method's: a short name (``'l1'``) or ``dict(type='L1')`` of
            ``mmprune.core.criteria``, the names weight inheritance and
            sparsity take too.
        ratio: share of channels removed from every prunable group (global
            when ``global_pruning``).
        speed_up: a FLOPs reduction factor instead of a ratio, reached in
            up to ``max_steps`` equal steps.
        latency_speed_up: a measured latency reduction factor instead,
            reached the same way, step by step, measuring the latency on
            ``latency_runtime`` (``torch`` or ``onnxruntime``) after each.
        latency_runtime: where ``latency_speed_up`` is measured.
        latency_rounds: each latency measurement of the target times the
            unpruned and the pruned model in alternation this many times,
            each keeping its fastest round; a step that meets the target
            is measured a second time and stops the stepping only if that
            measurement meets it too.
        layer_ratios: ``{module-name pattern: ratio}``, first pattern wins;
            alone, the other layers keep their channels.
        round_to: channel counts stay multiples of it (None: no
            rounding), or ``'measured'``: the multiple chosen by timing the
            model's heaviest prunable convolutions at the widths a pruner
            asks for, on ``latency_runtime`` (see
            ``mmprune.analysis.width_latency``; cached per machine).
        max_layer_ratio: no group loses more than this share.
        ignored: module-name patterns whose output channels are kept.
        protected: the prediction-layer patterns (default: mmprune's list).
        prune_stem: prune the output channels of the layers that read the
            image too (default: kept, as most pruning recipes do; the
            stem runs at the highest resolution, and keeping it costs
            latency: RTMDet-tiny's stem is 12% of its ONNX Runtime time).
        global_pruning: rank channels across groups, not within each.
        max_steps: the most steps a speed-up target may take.
        gradient_batches: training batches whose loss gradients rank
            channels, for the gradient criteria.
        strict_target: an unreached ``speed_up`` is an error, not only a
            line in the report.
        allocation: how a ``speed_up`` or ``latency_speed_up`` is spread
            over the layers: ``auto`` (the default: ``sensitivity`` for a
            ``speed_up`` without ``layer_ratios`` or ``global_pruning``,
            ``uniform`` otherwise; resolved when the options are built),
            ``uniform`` (every group in equal steps),
            ``sensitivity`` (each block of layers pruned alone at several
            ratios first, then non-uniform ``layer_ratios`` that save the
            FLOPs where the loss rises least, as far as the target needs,
            measured; see ``core/structured/sensitivity.py``) or, for a
            latency target, ``sensitivity_time`` (the same, each block's
            saving its measured time instead of its FLOPs: for a machine
            whose timing is steadier than the blocks' savings).
        sensitivity_ratios: the ratios each block is pruned alone at for
            ``allocation='sensitivity'`` (and the ratios it can be given).
    """
    method: str = 'l1'
    importance: Optional[Union[str, dict]] = None
    ratio: Optional[float] = None
    speed_up: Optional[float] = None
    latency_speed_up: Optional[float] = None
    latency_runtime: str = 'onnxruntime'
    latency_rounds: int = 3
    layer_ratios: Dict[str, float] = field(default_factory=dict)
    round_to: Optional[Union[int, str]] = 8
    max_layer_ratio: float = 1.0
    ignored: List[str] = field(default_factory=list)
    protected: Optional[List[str]] = None
    prune_stem: bool = False
    global_pruning: bool = False
    max_steps: int = 20
    gradient_batches: int = 4
    strict_target: bool = False
    allocation: str = AUTO
    sensitivity_ratios: List[float] = field(
        default_factory=lambda: [0.25, 0.5, 0.75])

    def __post_init__(self) -> None:
        if not isinstance(self.layer_ratios, (dict, type(None))):
            raise ValueError(f'layer_ratios = {self.layer_ratios!r}: must be '
                             'a dict {pattern: ratio}')
        self.layer_ratios = dict(self.layer_ratios or {})
        self.ignored = _patterns(self.ignored, 'ignored')
        if self.protected is not None:
            self.protected = _patterns(self.protected, 'protected')
        if self.allocation == AUTO:
            self.allocation = self.auto_allocation()
        self.validate()

    @classmethod
    def default(cls, name: str):
        """The default of option ``name``: what the tools' flags named
        after the options take, so that they cannot drift apart."""
        f = next((f for f in dataclasses.fields(cls) if f.name == name), None)
        if f is None:
            raise KeyError(f'PruningOptions has no option {name!r}')
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return f.default

    @classmethod
    def from_dict(cls,
                  options: dict,
                  where: str = 'pruning options') -> 'PruningOptions':
        """Build from config keys; an unknown key names itself and lists
        the known ones (a typo must not be silently ignored)."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f'{where}: unknown option(s) {unknown}; known: '
                             f'{", ".join(known)}')
        return cls(**options)

    def auto_allocation(self) -> str:
        """What ``allocation='auto'`` becomes for these options."""
        one_target = self.speed_up is not None and not self.layer_ratios \
            and not self.global_pruning
        return 'sensitivity' if one_target else 'uniform'

    @property
    def has_target(self) -> bool:
        return self.ratio is not None or self.speed_up is not None or \
            self.latency_speed_up is not None or bool(self.layer_ratios)

    def validate(self) -> None:
        get_pruning_method(self.method)  # an unknown one lists the known
        self.criterion  # an unknown or channel-less criterion fails here
        if self.ratio is not None or self.speed_up is not None or \
                self.latency_speed_up is not None:
            check_target(self.ratio, self.speed_up, self.latency_speed_up)
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f'allocation = {self.allocation!r}: must be one '
                             f'of {ALLOCATIONS}')
        if self.allocation != 'uniform' and (
            (self.speed_up is None and self.latency_speed_up is None)
                or self.layer_ratios or self.global_pruning):
            raise ValueError(
                f"allocation = '{self.allocation}' chooses per-layer ratios "
                'for a FLOPs or latency target: give speed_up or '
                'latency_speed_up, without layer_ratios or global_pruning')
        if self.allocation == 'sensitivity_time' and \
                self.latency_speed_up is None:
            raise ValueError(
                "allocation = 'sensitivity_time' spends measured time: it "
                'needs latency_speed_up')
        if not self.sensitivity_ratios or any(
                not (is_finite_number(r) and 0 < r < 1)
                for r in self.sensitivity_ratios):
            raise ValueError(f'sensitivity_ratios = '
                             f'{self.sensitivity_ratios}: each must be in '
                             '(0, 1)')
        if self.latency_runtime not in LATENCY_RUNTIMES:
            raise ValueError(f'latency_runtime = {self.latency_runtime!r}: '
                             f'must be one of {LATENCY_RUNTIMES}')
        for p, r in self.layer_ratios.items():
            check_pattern(p, 'layer_ratios')
            if not (is_finite_number(r) and 0 <= r < 1):
                raise ValueError(f'layer_ratios[{p!r}] = {r}: must be in '
                                 '[0, 1)')
        if self.round_to is not None and self.round_to != MEASURED and \
                not (is_integer(self.round_to) and self.round_to >= 1):
            raise ValueError(f'round_to = {self.round_to!r}: must be an '
                             f'integer >= 1, {MEASURED!r} (chosen by timing '
                             'widths on latency_runtime) or None (no '
                             'rounding)')
        if not (is_finite_number(self.max_layer_ratio)
                and 0 < self.max_layer_ratio <= 1):
            raise ValueError(f'max_layer_ratio = {self.max_layer_ratio}: '
                             'must be in (0, 1]')
        if not (is_integer(self.latency_rounds) and self.latency_rounds >= 1):
            raise ValueError(f'latency_rounds = {self.latency_rounds}: must '
                             'be an integer >= 1')
        if not (is_integer(self.max_steps) and self.max_steps >= 1):
            raise ValueError(f'max_steps = {self.max_steps}: must be an '
                             'integer >= 1')
        if not (is_integer(self.gradient_batches)
                and self.gradient_batches >= 1):
            needs = self.criterion.needs_gradients
            raise ValueError(
                f'gradient_batches = {self.gradient_batches}: must be an '
                'integer >= 1' +
                (f' ({self.method!r} ranks channels by loss gradients '
                 'and needs training batches)' if needs else ''))

    @property
    def criterion(self) -> Criterion:
        """The criterion that ranks channels."""
        if self.importance is None:
            return get_pruning_method(self.method).build_criterion()
        return build_criterion(self.importance, 'channel')

    def check_model(self, model: nn.Module) -> None:
        """Every pattern must match a module of ``model``."""
        for p in self.ignored:
            matching_modules(model, p, 'ignored')
        for p in self.protected or ():
            matching_modules(model, p, 'protected')
        for p in self.layer_ratios:
            matching_modules(model, p, 'layer_ratios', PRUNABLE)

    def require_target(self) -> None:
        """Pruning (not only rebuilding a structure) needs a target."""
        if not self.has_target:
            check_target(self.ratio, self.speed_up)

    @property
    def target(self) -> dict:
        target = dict(
            ratio=self.ratio,
            speed_up=self.speed_up,
            layer_ratios=self.layer_ratios or None)
        if self.allocation != 'uniform':
            target.update(allocation=self.allocation)
        if self.latency_speed_up is not None:
            target.update(
                latency_speed_up=self.latency_speed_up,
                latency_runtime=self.latency_runtime)
        return target

    def replace(self, **changes) -> 'PruningOptions':
        return dataclasses.replace(self, **changes)


def _patterns(value: Sequence[str], key: str) -> List[str]:
    if isinstance(value, str):
        value = [value]
    value = list(value or [])
    for p in value:
        if not isinstance(p, str):
            raise ValueError(f'{key}: {p!r} is not a pattern (a string)')
        check_pattern(p, key)
    return value
