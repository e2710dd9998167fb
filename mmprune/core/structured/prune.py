"""One-shot or stepwise structured channel pruning of an OpenMMLab model,
without the runner: Torch-Pruning's BasePruner over mmprune's tracing
(opaque layers, tensor- or loss-mode forward)."""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
import torch_pruning as tp

from ..layer_pruners import pruner_for
from ..module_patterns import (DEFAULT_PROTECTED, check_pattern,
                               matching_modules)
from ..tracing import (all_parameters_require_grad, choose_forward_fn,
                       loss_forward, opaque_layers)
from .methods import get_pruning_method
from .pruning_history import plain_history
from .segment_aware_pruner import SegmentAwarePruner

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
PROTECTED_REASON = 'protected (prediction layer or input stem)'


@dataclass
class StructuredPruningResult:
    method: str
    target: dict
    steps: int = 0
    flops_before: Optional[float] = None
    flops_after: Optional[float] = None
    params_before: int = 0
    params_after: int = 0
    layers: List[dict] = field(default_factory=list)
    # layers whose output channels were kept, each dict(name=, reason=)
    skipped: List[dict] = field(default_factory=list)
    # Torch-Pruning's pruning history as plain data (see pruning_history)
    history: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(method=self.method, target=self.target, steps=self.steps,
                    params_before=self.params_before,
                    params_after=self.params_after,
                    flops_before=self.flops_before,
                    flops_after=self.flops_after, speed_up=self.speed_up,
                    layers=self.layers, skipped=self.skipped)

    @property
    def protected(self) -> List[str]:
        return sorted(s['name'] for s in self.skipped
                      if s['reason'].startswith(PROTECTED_REASON))

    @property
    def speed_up(self) -> Optional[float]:
        if not self.flops_before or not self.flops_after:
            return None
        return self.flops_before / self.flops_after


def check_target(ratio: Optional[float], speed_up: Optional[float]) -> None:
    if (ratio is None) == (speed_up is None):
        raise ValueError('give exactly one of ratio and speed_up '
                         f'(got ratio={ratio}, speed_up={speed_up})')
    if ratio is not None and not 0 <= ratio < 1:
        raise ValueError(f'ratio = {ratio}: must be in [0, 1)')
    if speed_up is not None and not speed_up > 1:
        raise ValueError(f'speed_up = {speed_up}: must be > 1 (a FLOPs '
                         'reduction factor)')


def check_pruning_options(max_layer_ratio: float,
                          round_to: Optional[int]) -> None:
    if not 0 < max_layer_ratio <= 1:
        raise ValueError(f'max_layer_ratio = {max_layer_ratio}: must be '
                         'in (0, 1]')
    if round_to is not None and round_to < 1:
        raise ValueError(f'round_to = {round_to}: must be >= 1')


def layer_widths(model: nn.Module) -> Dict[str, tuple]:
    """(in, out) channels of every conv and linear layer by name."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, PRUNABLE):
            out[name] = (m.weight.shape[1] * getattr(m, 'groups', 1),
                         m.weight.shape[0])
    return out


def layer_changes(model: nn.Module,
                  before: Dict[str, tuple]) -> List[dict]:
    """Per-layer in/out channels of ``model`` now against ``before``
    (:func:`layer_widths` of the model as it was)."""
    modules = dict(model.named_modules())
    after = layer_widths(model)
    return [dict(name=n, type=type(modules[n]).__name__, in_before=b[0],
                 out_before=b[1], in_after=after[n][0], out_after=after[n][1])
            for n, b in before.items()]


def protected_modules(model: nn.Module,
                      protected: Optional[Sequence[str]] = None,
                      protect_stem: bool = True) -> List[str]:
    """The prediction layers (``DEFAULT_PROTECTED`` unless ``protected``
    is given: then every pattern must match) and the layers that read the
    image (the input stem, whose inputs are the 3 image channels)."""
    names = []
    patterns = DEFAULT_PROTECTED if protected is None else protected
    for p in patterns:
        check_pattern(p, 'protected')
        if protected is not None:
            matching_modules(model, p, 'protected')
    for name, m in model.named_modules():
        if not isinstance(m, PRUNABLE):
            continue
        if any(re.search(p, name) for p in patterns):
            names.append(name)
        elif protect_stem and not isinstance(m, nn.Linear) and \
                m.weight.shape[1] * m.groups == 3:
            names.append(name)
    return names


def frozen_modules(model: nn.Module) -> List[str]:
    """Prunable layers whose own parameters all have requires_grad=False
    (frozen stages): they keep their channels, since a frozen layer would
    not recover from losing them."""
    return [n for n, m in model.named_modules()
            if isinstance(m, PRUNABLE)
            and not any(p.requires_grad for p in m.parameters(False))]


def _snapshot(group) -> list:
    """What Torch-Pruning changes when it prunes a group: each module's
    parameters, buffers and attributes (it replaces parameters rather than
    editing them, so references are enough)."""
    snap = []
    for dep, _ in group:
        m = dep.target.module
        if isinstance(m, nn.Module):
            snap.append((m, {k: v for k, v in m.__dict__.items()
                             if k not in ('_parameters', '_buffers',
                                          '_modules')},
                         dict(m._parameters), dict(m._buffers)))
    return snap


def _restore(snap: list) -> None:
    for m, attrs, params, buffers in snap:
        m.__dict__.update(attrs)
        m._parameters.clear()
        m._parameters.update(params)
        m._buffers.clear()
        m._buffers.update(buffers)


def _prune_step(pruner, names: Dict[nn.Module, str],
                skipped: List[dict]) -> None:
    """One pruner step, group by group: a group Torch-Pruning fails to
    prune is rolled back and reported instead of crashing the run (no
    Torch-Pruning API does this: its step() stops at the first error with
    the model half pruned)."""
    for group in pruner.step(interactive=True):
        snap = _snapshot(group)
        try:
            group.prune()
        except Exception as e:  # noqa: BLE001 - reported, model restored
            _restore(snap)
            root = group[0].dep.target.module
            skipped.append(dict(
                name=names.get(root, type(root).__name__),
                reason=f'pruning its group failed and was rolled back: '
                f'{type(e).__name__}: {e}'))


def kept_layers(model: nn.Module,
                protected: Optional[Sequence[str]] = None,
                ignored: Sequence[str] = ()) -> Tuple[List[str], List[dict]]:
    """Names of the layers that keep their output channels (protected,
    ignored by pattern, frozen) and the report entries saying why."""
    keep = protected_modules(model, protected)
    modules = dict(model.named_modules())
    skipped = [dict(name=n, reason=PROTECTED_REASON) for n in keep]
    names = list(keep)
    for p in ignored:
        found = matching_modules(model, p, 'ignored')
        names += found
        skipped += [dict(name=n, reason=f'ignored (pattern {p!r})')
                    for n in found if isinstance(modules[n], PRUNABLE)]
    for n in frozen_modules(model):
        if n not in names:
            names.append(n)
            skipped.append(dict(name=n, reason='frozen (requires_grad=False)'))
    return names, skipped


def build_pruner(pruner_cls: type, model: nn.Module, data: dict,
                 importance, ignored_layers: List[nn.Module],
                 **kwargs) -> tp.pruner.BasePruner:
    """A Torch-Pruning pruner over mmprune's tracing: opaque layers with
    their own pruners, tensor- or loss-mode forward, and attention whose
    embedding width stays divisible by its head count."""
    customized = {type(m): pruner_for(m) for m in model.modules()
                  if pruner_for(m) is not None}
    heads = {m: m.num_heads for m in model.modules()
             if isinstance(m, nn.MultiheadAttention)}
    forward_fn = choose_forward_fn(model, data)
    with opaque_layers(model), all_parameters_require_grad(model):
        return pruner_cls(
            model, data, importance=importance,
            ignored_layers=ignored_layers, customized_pruners=customized,
            out_channel_groups=heads, in_channel_groups=heads,
            forward_fn=forward_fn, **kwargs)


def _accumulate_gradients(model, method, importance, batches) -> None:
    model.zero_grad()
    if method.per_sample_gradients:
        importance.zero_grad()
        for data in batches:
            for i in range(len(data['data_samples'])):
                single = dict(inputs=data['inputs'][i:i + 1],
                              data_samples=data['data_samples'][i:i + 1])
                model.zero_grad()
                loss_forward(model, single).backward()
                importance.accumulate_grad(model)
        return
    for data in batches:
        loss_forward(model, data).backward()


def prune_model(model: nn.Module,
                data: dict,
                method: str = 'l1',
                ratio: Optional[float] = None,
                speed_up: Optional[float] = None,
                layer_ratios: Optional[Dict[str, float]] = None,
                round_to: Optional[int] = 8,
                max_layer_ratio: float = 1.0,
                ignored: Sequence[str] = (),
                protected: Optional[Sequence[str]] = None,
                global_pruning: bool = False,
                max_steps: int = 20,
                gradient_batches: Optional[Sequence[dict]] = None,
                flops_fn: Optional[Callable[[nn.Module], float]] = None
                ) -> StructuredPruningResult:
    """Prune ``model`` in place.

    ``ratio``: the share of channels removed from every prunable group
    (``layer_ratios`` overrides it per module-name pattern). ``speed_up``:
    remove channels in up to ``max_steps`` equal steps until
    ``flops_fn(model)`` has fallen by that factor. ``round_to`` keeps
    channel counts multiples of 8; ``ignored`` patterns and the protected
    layers (prediction layers, input stem) keep their output channels.
    Gradient-based methods use ``gradient_batches`` (default: ``data``).
    """
    check_target(ratio, speed_up)
    pm = get_pruning_method(method)
    if speed_up is not None and flops_fn is None:
        raise ValueError('speed_up needs flops_fn to measure FLOPs')
    check_pruning_options(max_layer_ratio, round_to)
    was_training = model.training
    model.train()  # mmdet freezes stages in train()
    ignored_names, skipped = kept_layers(model, protected, ignored)
    modules = dict(model.named_modules())
    ratio_dict = {}
    for p, r in (layer_ratios or {}).items():
        check_target(r, None)
        for n in matching_modules(model, p, 'layer_ratios', PRUNABLE):
            ratio_dict.setdefault(modules[n], r)  # first pattern wins

    result = StructuredPruningResult(
        method=method, target=dict(ratio=ratio, speed_up=speed_up),
        skipped=skipped)
    result.params_before = sum(p.numel() for p in model.parameters())
    before = layer_widths(model)
    if flops_fn is not None:
        result.flops_before = flops_fn(model)
    importance = pm.importance()
    steps = 1 if speed_up is None else max_steps
    pruner = build_pruner(
        SegmentAwarePruner, model, data, importance,
        [modules[n] for n in ignored_names],
        global_pruning=global_pruning,
        pruning_ratio=ratio if ratio is not None else max_layer_ratio,
        pruning_ratio_dict=ratio_dict or None,
        max_pruning_ratio=max_layer_ratio, iterative_steps=steps,
        round_to=round_to)
    names = {m: n for n, m in modules.items()}
    for step in range(steps):
        if pm.needs_gradients:
            model.train()
            _accumulate_gradients(model, pm, importance,
                                  gradient_batches or [data])
        _prune_step(pruner, names, skipped)
        result.steps = step + 1
        if speed_up is not None:
            result.flops_after = flops_fn(model)
            if result.flops_before / result.flops_after >= speed_up:
                break
    model.zero_grad(set_to_none=True)
    result.history = plain_history(pruner.pruning_history())
    if flops_fn is not None and result.flops_after is None:
        result.flops_after = flops_fn(model)
    result.params_after = sum(p.numel() for p in model.parameters())
    result.layers = layer_changes(model, before)
    model.train(was_training)
    return result
