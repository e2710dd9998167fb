"""Which layers keep their channels and why, and the per-layer widths a
prune is reported with."""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn

from ..layer_pruners import pruner_for
from ..model_family import default_protected, fixed_width_layers
from ..module_patterns import check_pattern, matching_modules
from .options import PRUNABLE, PruningOptions
from .result import NothingToPruneError

PROTECTED_REASON = 'protected (prediction layer or input stem)'


def layer_widths(model: nn.Module) -> Dict[str, tuple]:
    """(in, out) channels of every conv and linear layer by name."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, PRUNABLE):
            out[name] = (m.weight.shape[1] * getattr(m, 'groups', 1),
                         m.weight.shape[0])
    return out


def layer_changes(model: nn.Module, before: Dict[str, tuple]) -> List[dict]:
    """Per-layer in/out channels of ``model`` now against ``before``
    (:func:`layer_widths` of the model as it was)."""
    modules = dict(model.named_modules())
    after = layer_widths(model)
    return [
        dict(
            name=n,
            type=type(modules[n]).__name__,
            in_before=b[0],
            out_before=b[1],
            in_after=after[n][0],
            out_after=after[n][1]) for n, b in before.items()
    ]


def protected_modules(model: nn.Module,
                      protected: Optional[Sequence[str]] = None,
                      prune_stem: bool = False) -> List[str]:
    """The prediction layers (the model families' ``default_protected()``
    unless ``protected`` is given: then every pattern must match) and the
    layers that read the image (the input stem, whose inputs are the 3
    image channels) unless ``prune_stem``."""
    names = []
    patterns = default_protected() if protected is None else protected
    for p in patterns:
        check_pattern(p, 'protected')
        if protected is not None:
            matching_modules(model, p, 'protected')
    for name, m in model.named_modules():
        if not isinstance(m, PRUNABLE):
            continue
        if any(re.search(p, name) for p in patterns):
            names.append(name)
        elif not prune_stem and not isinstance(m, nn.Linear) and \
                m.weight.shape[1] * m.groups == 3:
            names.append(name)
    return names


def frozen_modules(model: nn.Module) -> List[str]:
    """Prunable layers whose own parameters all have requires_grad=False
    (frozen stages): they keep their channels, since a frozen layer would
    not recover from losing them."""
    return [
        n for n, m in model.named_modules()
        if isinstance(m, PRUNABLE) and not any(
            p.requires_grad for p in m.parameters(False))
    ]


def kept_layers(model: nn.Module,
                protected: Optional[Sequence[str]] = None,
                ignored: Sequence[str] = (),
                prune_stem: bool = False) -> Tuple[List[str], List[dict]]:
    """Names of the layers that keep their output channels (protected,
    the input stem unless ``prune_stem``, ignored by pattern,
    frozen, fixed by the model's code) and the report entries saying
    why."""
    keep = protected_modules(model, protected, prune_stem)
    modules = dict(model.named_modules())
    skipped = [dict(name=n, reason=PROTECTED_REASON) for n in keep]
    names = list(keep)
    for p in ignored:
        found = matching_modules(model, p, 'ignored')
        names += found
        skipped += [
            dict(name=n, reason=f'ignored (pattern {p!r})') for n in found
            if isinstance(modules[n], PRUNABLE)
        ]
    for n in frozen_modules(model):
        if n not in names:
            names.append(n)
            skipped.append(dict(name=n, reason='frozen (requires_grad=False)'))
    for n, reason in fixed_width_layers(model).items():
        if n not in names and isinstance(modules.get(n), PRUNABLE):
            names.append(n)
            skipped.append(dict(name=n, reason=reason))
    for n, m in modules.items():
        pruner = pruner_for(m)
        reason = pruner and pruner.kept_out_channels_reason(m)
        if reason and n not in names:
            names.append(n)
            skipped.append(dict(name=n, reason=reason))
    return names, skipped


def kept_layers_of(model: nn.Module,
                   opts: PruningOptions) -> Tuple[List[str], List[dict]]:
    """:func:`kept_layers` with the patterns and stem choice of ``opts``."""
    return kept_layers(model, opts.protected, opts.ignored, opts.prune_stem)


def kept_modules(model: nn.Module, opts: PruningOptions) -> List[nn.Module]:
    """The modules :func:`kept_layers_of` names for ``opts``."""
    names, _ = kept_layers_of(model, opts)
    modules = dict(model.named_modules())
    return [modules[n] for n in names]


def _out_channels(module: nn.Module) -> int:
    return getattr(module, 'out_channels', getattr(module, 'out_features', 0))


def check_something_to_prune(
        model: nn.Module,
        opts: PruningOptions,
        kept_and_why: Optional[Tuple[List[str], List[dict]]] = None) -> None:
    """Raise :class:`NothingToPruneError` when no layer can lose a
    channel: every prunable layer is kept (protected, ignored, frozen,
    fixed by the model) or no wider than ``round_to``. Cheap (a walk over
    the modules): run before any tracing. ``kept_and_why``: what
    :func:`kept_layers` gives for ``opts``, when the caller has it."""
    kept, skipped = kept_and_why or kept_layers_of(model, opts)
    kept = set(kept)
    step = opts.round_to if isinstance(opts.round_to, int) else 1
    prunable = narrow = 0
    for name, module in model.named_modules():
        if not isinstance(module, PRUNABLE):
            continue
        parts = name.split('.')
        if any('.'.join(parts[:i]) in kept for i in range(1, len(parts) + 1)):
            continue
        prunable += 1
        narrow += _out_channels(module) <= step
    if prunable > narrow:
        return
    raise NothingToPruneError(
        f'nothing to prune: of the model\'s prunable layers, {len(skipped)} '
        'are kept (prediction layers, the input stem, ignored, frozen or '
        f'fixed by the model) and {narrow} have at most round_to={step} '
        'output channels, so the target cannot remove a channel. Change '
        'ignored, protected or prune_stem (--ignored, --prune-stem), or a '
        'smaller round_to')
