"""The registry of pruners for layers Torch-Pruning's tracer cannot see
through. The core knows no model library: the pruners of model-specific
layers register themselves from ``mmprune.models.pruning_support``."""
from .base import (InternalGroup, OpaqueLayerPruner, custom_pruners,
                   member_channels, prune_member, pruner_for,
                   register_layer_pruner)

__all__ = [
    'InternalGroup', 'OpaqueLayerPruner', 'custom_pruners', 'pruner_for',
    'member_channels', 'prune_member', 'register_layer_pruner'
]
