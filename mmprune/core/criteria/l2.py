"""L2: the sum of w^2 of each channel (or each weight's w^2)."""
from mmprune.registry import CRITERIA
from .l1 import L1


@CRITERIA.register_module(name=['L2', 'l2'])
class L2(L1):
    """Magnitude, p = 2 (the group norm of Torch-Pruning's
    ``GroupNormPruner``): a channel scores the sum of w^2 over its weights
    in every coupled layer, averaged over the group."""
    short_name = 'l2'
    p = 2
