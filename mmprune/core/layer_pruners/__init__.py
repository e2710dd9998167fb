from .base import (LAYER_PRUNERS, InternalGroup, OpaqueLayerPruner,
                   member_channels, prune_member, pruner_for,
                   register_layer_pruner)
from .lsk_module_pruner import LSKModulePruner
from .roi_extractor_pruner import RoIExtractorPruner

__all__ = [
    'LAYER_PRUNERS', 'InternalGroup', 'OpaqueLayerPruner', 'LSKModulePruner',
    'RoIExtractorPruner', 'pruner_for',
    'member_channels', 'prune_member', 'register_layer_pruner'
]
