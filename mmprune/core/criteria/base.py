"""The base class of every importance criterion."""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch_pruning as tp

from mmprune.registry import CRITERIA


class Criterion:
    """How important a channel or a weight is, under one name everywhere.

    A criterion gives what each part of mmprune ranks with:

    - :meth:`channel_importance`: the Torch-Pruning ``Importance`` that
      scores a coupled channel group (structured pruning, sensitivity,
      weight inheritance, sparse training);
    - :meth:`member_scores`: the same score for a layer's internal channel
      group, which Torch-Pruning does not trace (the LSK split);
    - :meth:`element_scores`: one score per weight (unstructured
      sparsity).

    Scores only compare within one ranking; where groups or layers compete
    (global pruning, global sparsity) each one's scores are divided by
    their mean first, so a layer's overall scale does not decide its
    share. A criterion that has no form for some use raises a
    ``ValueError`` naming the uses it has.
    """
    #: the short name configs and command lines use (``importance='l1'``)
    short_name: str = ''
    #: the training loss's gradients are accumulated before ranking
    needs_gradients: bool = False
    #: per-sample gradients (the Hessian diagonal approximation)
    per_sample_gradients: bool = False

    def channel_importance(self) -> tp.importance.Importance:
        raise ValueError(self._missing('channel'))

    def member_scores(self, layer: nn.Module,
                      members: List[Tuple[str, str]]) -> torch.Tensor:
        raise ValueError(self._missing('internal-group'))

    def element_scores(self,
                       weight: torch.Tensor,
                       normalize: bool = False) -> torch.Tensor:
        raise ValueError(self._missing('element'))

    @property
    def ranks_from_weights(self) -> bool:
        """Whether the weights alone rank channels (no data, no chance):
        what weight inheritance needs."""
        return not self.needs_gradients

    def _missing(self, use: str) -> str:
        return (f'importance {self.short_name!r} has no {use} scores; '
                f'criteria that do: {", ".join(criteria_with(use))}')

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


def p_norm_scores(weight: torch.Tensor,
                  p: int,
                  out: bool = True) -> torch.Tensor:
    """Per channel (output channels, or input channels with ``out=False``):
    the sum of |w|^p over its weights."""
    w = weight.detach() if out else weight.detach().transpose(0, 1)
    return w.flatten(1).abs().pow(p).sum(1)


def mean_normalized(scores: torch.Tensor) -> torch.Tensor:
    return scores / scores.mean().clamp_min(1e-12)


def members_p_norm(layer: nn.Module, members: List[Tuple[str, str]],
                   p: int) -> torch.Tensor:
    """The p-norm criterion for an internal group of one layer: per member,
    each channel's p-norm, averaged over the members (as Torch-Pruning's
    ``GroupMagnitudeImportance`` averages over a group)."""
    return torch.stack([
        p_norm_scores(layer.get_submodule(sub).weight, p, side == 'out')
        for sub, side in members
    ]).mean(0)


# each use and the method that gives its scores
_USES = {
    'channel': 'channel_importance',
    'element': 'element_scores',
    'internal-group': 'member_scores'
}


def criteria_with(use: str) -> List[str]:
    """Short names of the criteria that have scores for ``use``."""
    method = _USES[use]
    return sorted({
        cls.short_name
        for cls in CRITERIA.module_dict.values()
        if getattr(cls, method) is not getattr(Criterion, method)
    })
