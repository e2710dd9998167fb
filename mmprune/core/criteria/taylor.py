"""Taylor: first-order loss change of removing a channel."""
import torch_pruning as tp

from mmprune.registry import CRITERIA
from .base import Criterion


@CRITERIA.register_module(name=['Taylor', 'taylor'])
class Taylor(Criterion):
    """|w * dL/dw| summed over the group (Torch-Pruning's
    ``GroupTaylorImportance``), on gradients of the training loss."""
    short_name = 'taylor'
    needs_gradients = True

    def channel_importance(self) -> tp.importance.Importance:
        return tp.importance.GroupTaylorImportance()
