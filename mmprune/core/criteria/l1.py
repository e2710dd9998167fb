"""L1: the sum of |w| of each channel (or each weight's |w|)."""
import torch
import torch_pruning as tp

from mmprune.registry import CRITERIA
from .base import Criterion, mean_normalized, members_p_norm


@CRITERIA.register_module(name=['L1', 'l1'])
class L1(Criterion):
    """Magnitude, p = 1: a channel scores the sum of |w| over its weights
    in every coupled conv, linear and norm layer, averaged over the group
    (Torch-Pruning's ``GroupMagnitudeImportance``)."""
    short_name = 'l1'
    p = 1

    def channel_importance(self) -> tp.importance.Importance:
        return tp.importance.GroupMagnitudeImportance(p=self.p)

    def member_scores(self, layer, members) -> torch.Tensor:
        return members_p_norm(layer, members, self.p)

    def element_scores(self,
                       weight: torch.Tensor,
                       normalize: bool = False) -> torch.Tensor:
        s = weight.detach().abs().float().pow(self.p)
        return mean_normalized(s) if normalize else s
