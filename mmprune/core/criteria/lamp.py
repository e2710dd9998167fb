"""LAMP: layer-adaptive magnitude scores."""
import torch_pruning as tp

from mmprune.registry import CRITERIA
from .base import Criterion


@CRITERIA.register_module(name=['LAMP', 'lamp'])
class LAMP(Criterion):
    """Each channel's squared norm divided by the sum of those of the
    channels at least as large in its layer (Lee et al., Torch-Pruning's
    ``LAMPImportance``): comparable across layers without a mean."""
    short_name = 'lamp'

    def channel_importance(self) -> tp.importance.Importance:
        return tp.importance.LAMPImportance(p=2)
