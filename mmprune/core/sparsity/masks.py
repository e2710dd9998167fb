"""Element importance, mask computation and enforcement.

Torch-Pruning prunes whole channels; its importances rank groups, not
single weights, so element masks are computed here.
"""
from collections import defaultdict
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn

from ..criteria import Criterion, build_criterion
from .plan import SparsityPlan, SparsityTarget

SPARSITY_SCOPES = ('per_layer', 'global')

Masks = Dict[str, torch.Tensor]  # parameter name -> bool, True = kept


def sparsity_criterion(importance: Union[str, dict, Criterion] = 'l1',
                       l1_weight: float = 0.7) -> Criterion:
    """The criterion scoring single weights: a short name (``l1``, ``l2``,
    ``l1+l2`` with ``l1_weight``), a ``dict(type=...)`` or an instance of
    ``mmprune.core.criteria``."""
    if importance == 'l1+l2':
        importance = dict(type='l1+l2', l1_weight=l1_weight)
    return build_criterion(importance, 'element')


def element_importance(weight: torch.Tensor,
                       importance: Union[str, dict, Criterion],
                       l1_weight: float = 0.7,
                       normalize: bool = False) -> torch.Tensor:
    """Score of every element. All three criteria are monotone in |w|, so
    inside one layer they keep the same weights; they differ when layers
    compete in global ranking, where each layer's scores are divided by
    their mean (``normalize``) so a layer's overall scale does not decide
    its share. ``l1+l2`` mixes the two normalised scores as the
    module-aware sparsity ratios do (``l1_weight`` * L1 + (1 -
    ``l1_weight``) * L2)."""
    return sparsity_criterion(importance,
                              l1_weight).element_scores(weight, normalize)


def semi_structured_mask(weight: torch.Tensor) -> torch.Tensor:
    """2:4 pattern: in every run of 4 consecutive input channels (for each
    output channel and kernel position) the 2 largest |w| are kept, the
    layout sparse tensor cores and ``to_sparse_semi_structured`` expect."""
    w = weight.detach().abs()
    if w.dim() == 4:  # (out, in, kh, kw) -> (out, kh, kw, in)
        w = w.permute(0, 2, 3, 1)
    groups = w.reshape(-1, 4)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, groups.topk(2, dim=1).indices, True)
    keep = keep.reshape(w.shape)
    if weight.dim() == 4:
        keep = keep.permute(0, 3, 1, 2)
    return keep.contiguous()


def _prune_lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    keep = torch.ones_like(scores, dtype=torch.bool)
    if k > 0:
        keep[scores.topk(k, largest=False).indices] = False
    return keep


def compute_masks(model: nn.Module,
                  plan: SparsityPlan,
                  fraction: float,
                  importance: Union[str, dict, Criterion] = 'l1',
                  scope: str = 'per_layer',
                  l1_weight: float = 0.7,
                  previous: Optional[Masks] = None) -> Masks:
    """Masks that prune ``round(ratio * fraction * n)`` weights: per layer
    (``scope='per_layer'``) or per rule, ranked together across the layers
    the rule covers (``scope='global'``). Weights pruned in ``previous``
    stay pruned (they rank lowest), so gradual sparsity only grows. 2:4
    layers get their full pattern at the first step with fraction > 0."""
    if scope not in SPARSITY_SCOPES:
        raise ValueError(f'scope {scope!r} is not one of '
                         f'{", ".join(SPARSITY_SCOPES)}')
    criterion = sparsity_criterion(importance, l1_weight)
    params = dict(model.named_parameters())
    previous = previous or {}
    masks: Masks = {}
    groups: Dict[str, List[SparsityTarget]] = defaultdict(list)
    for t in plan.targets:
        if t.semi_structured:
            masks[t.name] = semi_structured_mask(params[t.name]) \
                if fraction > 0 else torch.ones_like(params[t.name],
                                                     dtype=torch.bool)
        else:
            groups[t.rule if scope == 'global' else t.name].append(t)
    for members in groups.values():
        scores = []
        for t in members:
            s = criterion.element_scores(
                params[t.name], normalize=scope == 'global').flatten()
            if t.name in previous:  # already pruned: rank lowest
                s = s.masked_fill(~previous[t.name].flatten(), -1.0)
            scores.append(s)
        flat = torch.cat(scores)
        k = round(members[0].ratio * fraction * flat.numel())
        keep = _prune_lowest(flat, k)
        for t, part in zip(members, keep.split([t.numel for t in members])):
            m = part.reshape(params[t.name].shape)
            if t.name in previous:
                m &= previous[t.name]
            masks[t.name] = m
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Zero every pruned weight of ``model`` (in place)."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        p = params[name]
        p.masked_fill_(~mask.to(p.device), 0)


def check_masks_fit(model: nn.Module, masks: Masks, source: str) -> None:
    """Masks restored from ``source`` must name this model's parameters
    with the same shapes."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise ValueError(f'{source}: sparsity mask for "{name}", which '
                             'this model does not have')
        if tuple(mask.shape) != tuple(params[name].shape):
            raise ValueError(f'{source}: sparsity mask for "{name}" has shape '
                             f'{tuple(mask.shape)}, the model\'s weight '
                             f'{tuple(params[name].shape)}')
