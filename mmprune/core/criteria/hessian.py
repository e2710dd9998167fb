"""Hessian: second-order loss change of removing a channel."""
import torch_pruning as tp

from mmprune.registry import CRITERIA
from .base import Criterion


@CRITERIA.register_module(name=['Hessian', 'hessian'])
class Hessian(Criterion):
    """The Hessian-diagonal (OBD) score from per-sample gradients
    (Torch-Pruning's ``GroupHessianImportance``)."""
    short_name = 'hessian'
    needs_gradients = True
    per_sample_gradients = True

    def channel_importance(self) -> tp.importance.Importance:
        return tp.importance.GroupHessianImportance()
