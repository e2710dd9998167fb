"""L1+L2: a mix of the mean-normalised L1 and L2 weight scores."""
import torch

from mmprune.registry import CRITERIA
from .base import Criterion, mean_normalized


@CRITERIA.register_module(name=['L1L2', 'l1+l2'])
class L1L2(Criterion):
    """``l1_weight`` * L1 + (1 - ``l1_weight``) * L2 per weight, each
    divided by its layer's mean first (the module-aware sparsity ratios
    score weights this way). Element scores only: a channel mix would rank
    like either of its parts."""
    short_name = 'l1+l2'

    def __init__(self, l1_weight: float = 0.7) -> None:
        if not 0.0 <= l1_weight <= 1.0:
            raise ValueError(f'l1_weight = {l1_weight}: must be in [0, 1]')
        self.l1_weight = l1_weight

    def element_scores(self,
                       weight: torch.Tensor,
                       normalize: bool = False) -> torch.Tensor:
        a = weight.detach().abs().float()
        return (self.l1_weight * mean_normalized(a) +
                (1.0 - self.l1_weight) * mean_normalized(a * a))

    def __repr__(self) -> str:
        return f'L1L2(l1_weight={self.l1_weight})'
