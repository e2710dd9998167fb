"""Random: the control criterion."""
import torch_pruning as tp

from mmprune.registry import CRITERIA
from .base import Criterion


@CRITERIA.register_module(name=['Random', 'random'])
class Random(Criterion):
    """Uniform random channel scores: what any criterion must beat."""
    short_name = 'random'

    def channel_importance(self) -> tp.importance.Importance:
        return tp.importance.RandomImportance()

    @property
    def ranks_from_weights(self) -> bool:
        return False
