"""Pruner for the feature refinement module (``FRM``) of mmrotate's
refined single-stage detectors (R3Det)."""
from typing import Sequence

import torch.nn as nn
import torch_pruning as tp
from mmrotate.models.layers.align import FRM

from mmprune.core.layer_pruners import OpaqueLayerPruner, register_layer_pruner


@register_layer_pruner(FRM)
class FeatureRefinePruner(OpaqueLayerPruner):
    """FRM returns ``x + align(conv_5_1(conv_1_5(x)) + conv_1_1(x))`` per
    FPN level, the alignment being mmcv's ``rotated_feature_align``, whose
    autograd function Torch-Pruning cannot see through: the refine
    stage's convs were left out of the FPN's group and kept the old width.
    Traced as one node whose inputs are its outputs (the residual sum):
    the FPN's channels leave the first convs' inputs and the last convs'
    outputs; the inner width of ``conv_1_5 -> conv_5_1`` is kept."""

    def prune_out_channels(self, layer: nn.Module,
                           idxs: Sequence[int]) -> nn.Module:
        idxs = list(idxs)
        tp.prune_conv_in_channels(layer.conv_1_5, idxs)
        tp.prune_conv_in_channels(layer.conv_1_1, idxs)
        tp.prune_conv_out_channels(layer.conv_5_1, idxs)
        tp.prune_conv_out_channels(layer.conv_1_1, idxs)
        layer.feat_channels = layer.conv_1_1.out_channels
        return layer

    prune_in_channels = prune_out_channels

    def get_out_channels(self, layer: nn.Module) -> int:
        return layer.conv_1_1.out_channels

    get_in_channels = get_out_channels
