"""Which weights unstructured sparsity touches, and at what ratio.

A weight is the direct parameter of a module whose name contains ``weight``
and that has at least two dimensions (conv, linear, deformable conv and
attention projection kernels); biases, norms and layer scales stay dense.
Patterns are regular expressions searched in the owning module's name
(``re.search``: ``'neck'`` matches every module under the neck). Protected
patterns win over ratio patterns; among ratio patterns the first match
wins; the rest get the default ratio.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn

from ..model_family import default_protected
from ..module_patterns import check_pattern

RatioSpec = Union[Dict[str, float], Sequence[Tuple[str, float]],
                  Sequence[dict], None]


@dataclass
class SparsityTarget:
    """One weight tensor and the ratio asked of it."""
    name: str  # parameter name, e.g. 'backbone.stem.0.conv.weight'
    module: str  # owning module name
    module_type: str
    numel: int
    ratio: float
    rule: str  # the pattern that gave the ratio, 'default' or '2:4'
    semi_structured: bool = False


@dataclass
class SparsityPlan:
    targets: List[SparsityTarget]
    protected: List[SparsityTarget]  # eligible weights left dense
    # 2:4 asked for a layer that cannot take it: parameter name -> reason
    skipped: Dict[str, str] = field(default_factory=dict)

    def rules(self) -> List[str]:
        seen: List[str] = []
        for t in self.targets:
            if t.rule not in seen:
                seen.append(t.rule)
        return seen


def normalize_ratios(ratios: RatioSpec,
                     key: str = 'ratios') -> List[Tuple[str, float]]:
    """``{pattern: ratio}``, ``[(pattern, ratio)]`` or
    ``[dict(pattern=..., ratio=...)]`` as an ordered list of pairs, checked
    (ratio in [0, 1), pattern a valid regular expression)."""
    if ratios is None:
        return []
    if isinstance(ratios, dict):
        pairs = list(ratios.items())
    else:
        pairs = []
        for item in ratios:
            if isinstance(item, dict):
                if set(item) != {'pattern', 'ratio'}:
                    raise ValueError(
                        f'{key}: {item} must be dict(pattern=..., ratio=...)')
                pairs.append((item['pattern'], item['ratio']))
            else:
                pattern, ratio = item
                pairs.append((pattern, ratio))
    for pattern, ratio in pairs:
        check_ratio(ratio, f'{key}[{pattern!r}]')
        check_pattern(pattern, key)
    return [(str(p), float(r)) for p, r in pairs]


def check_ratio(ratio: float, key: str) -> None:
    if not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
        raise ValueError(f'{key} = {ratio!r}: a sparsity ratio must be a '
                         'number in [0, 1)')


def eligible_weights(model: nn.Module) -> List[Tuple[str, str, nn.Module]]:
    """(parameter name, module name, module) of every weight that
    unstructured sparsity may touch; a shared parameter is listed once."""
    seen = set()
    found = []
    for mod_name, module in model.named_modules():
        if isinstance(module, nn.Embedding):
            continue  # lookup tables, not kernels
        for p_name, param in module.named_parameters(recurse=False):
            if 'weight' not in p_name or param.dim() < 2 or \
                    id(param) in seen:
                continue
            seen.add(id(param))
            full = f'{mod_name}.{p_name}' if mod_name else p_name
            found.append((full, mod_name, module))
    return found


def semi_structured_problem(module: nn.Module, p_name: str,
                            shape: Sequence[int]) -> Optional[str]:
    """Why a 2:4 pattern cannot be applied to this weight, or None."""
    if p_name != 'weight' or not isinstance(module, (nn.Linear, nn.Conv2d)):
        return (f'{type(module).__name__}: 2:4 sparsity applies to '
                'nn.Linear and nn.Conv2d kernels only')
    if shape[1] % 4:
        return (f'{shape[1]} input channels per group are not a multiple '
                'of 4')
    return None


def resolve_sparsity_plan(
    model: nn.Module,
    ratios: RatioSpec = None,
    default_ratio: float = 0.0,
    protected: Optional[Sequence[str]] = None,
    semi_structured: Sequence[str] = ()
) -> SparsityPlan:
    """Assign every eligible weight its ratio. A user pattern (in
    ``ratios``, ``protected`` or ``semi_structured``) that matches no
    eligible weight's module is an error naming it; ``protected=None``
    means the model families' prediction layers (``default_protected()``),
    which may match nothing."""
    pairs = normalize_ratios(ratios)
    check_ratio(default_ratio, 'default_ratio')
    user_protected = protected is not None
    protected = list(default_protected() if protected is None else protected)
    for p in protected:
        check_pattern(p, 'protected')
    for p in semi_structured:
        check_pattern(p, 'semi_structured')

    weights = eligible_weights(model)
    if not weights:
        raise ValueError(f'{type(model).__name__} has no conv or linear '
                         'weights to sparsify')
    names = [m for _, m, _ in weights]
    for key, patterns in (('ratios', [p for p, _ in pairs]),
                          ('semi_structured', list(semi_structured)),
                          ('protected', protected if user_protected else [])):
        for pattern in patterns:
            if not any(re.search(pattern, n) for n in names):
                examples = ', '.join(sorted(set(names))[:8])
                raise ValueError(
                    f'{key}: pattern {pattern!r} matches no module with '
                    f'sparsifiable weights (module names look like: '
                    f'{examples}, ...)')

    plan = SparsityPlan(targets=[], protected=[])
    for full, mod_name, module in weights:
        param = module.get_parameter(full.rsplit('.', 1)[-1])
        target = SparsityTarget(full, mod_name,
                                type(module).__name__, param.numel(), 0.0,
                                'protected')
        if any(re.search(p, mod_name) for p in protected):
            plan.protected.append(target)
            continue
        if any(re.search(p, mod_name) for p in semi_structured):
            problem = semi_structured_problem(module,
                                              full.rsplit('.', 1)[-1],
                                              param.shape)
            if problem is None:
                target.ratio, target.rule = 0.5, '2:4'
                target.semi_structured = True
                plan.targets.append(target)
                continue
            plan.skipped[full] = problem  # falls back to its ratio rule
        target.ratio, target.rule = default_ratio, 'default'
        for pattern, ratio in pairs:
            if re.search(pattern, mod_name):
                target.ratio, target.rule = ratio, pattern
                break
        plan.targets.append(target)
    return plan
