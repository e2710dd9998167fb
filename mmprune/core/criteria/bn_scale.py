"""BN scale: the |gamma| of a channel's BatchNorm (network slimming)."""
import torch_pruning as tp

from mmprune.registry import CRITERIA
from ..tp_backend import BNScaleImportance
from .base import Criterion


@CRITERIA.register_module(name=['BNScale', 'bn_scale'])
class BNScale(Criterion):
    """|gamma| of the group's BatchNorms. Groups without a BatchNorm have
    no score (``None``): structured pruning leaves them, weight inheritance
    ranks them by L1."""
    short_name = 'bn_scale'

    def channel_importance(self) -> tp.importance.Importance:
        return BNScaleImportance()
