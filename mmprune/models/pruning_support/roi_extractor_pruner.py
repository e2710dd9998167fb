"""Pruner for mmdet/mmrotate RoI extractors (RoIAlign over FPN levels)."""
from typing import Sequence

import torch.nn as nn
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor

from mmprune.core.layer_pruners import OpaqueLayerPruner, register_layer_pruner


@register_layer_pruner(BaseRoIExtractor)
class RoIExtractorPruner(OpaqueLayerPruner):
    """An RoI extractor pools every FPN level into ``out_channels`` maps:
    its inputs and outputs are the same channels. Traced opaque because
    inside it scatters per-level results into a zero tensor
    (``roi_feats[inds] = ...``), whose data-dependent views Torch-Pruning
    reads as extra flattenings (with few RoIs per level it then multiplies
    the RoI FC's indices by 49 twice and never finishes). Pruning only
    updates ``out_channels``, which sizes that zero tensor."""
    # In tensor mode the RoIs come from test-time proposal selection, which
    # can be empty on random weights: the FPN -> RoI head link would be lost.
    needs_training_forward = True

    def prune_out_channels(self, layer: nn.Module,
                           idxs: Sequence[int]) -> nn.Module:
        layer.out_channels -= len(set(idxs))
        return layer

    prune_in_channels = prune_out_channels

    def get_out_channels(self, layer: nn.Module) -> int:
        return layer.out_channels

    def get_in_channels(self, layer: nn.Module) -> int:
        return layer.out_channels
