"""Pruner for LSKNet's LSK module (``mmprune.models.backbones.lsknet``)."""
from typing import List, Sequence

import torch.nn as nn
import torch_pruning as tp

from mmprune.core.layer_pruners import (InternalGroup, OpaqueLayerPruner,
                                        register_layer_pruner)
from ..backbones.lsknet import LSKModule


@register_layer_pruner(LSKModule)
class LSKModulePruner(OpaqueLayerPruner):
    """The module's output is ``input * conv(...)``, so its input and output
    channels are the same channels (``prune_in_channels`` is
    ``prune_out_channels``, Torch-Pruning's way to say so): the two
    depthwise convs lose them on both sides, conv1/conv2 on their inputs
    and the final conv on its outputs. The split width (conv1/conv2
    outputs, the final conv's inputs) is an internal group."""

    def prune_out_channels(self, layer: nn.Module,
                           idxs: Sequence[int]) -> nn.Module:
        idxs = list(idxs)
        tp.prune_depthwise_conv_out_channels(layer.conv0, idxs)
        tp.prune_depthwise_conv_out_channels(layer.conv_spatial, idxs)
        tp.prune_conv_in_channels(layer.conv1, idxs)
        tp.prune_conv_in_channels(layer.conv2, idxs)
        tp.prune_conv_out_channels(layer.conv, idxs)
        return layer

    prune_in_channels = prune_out_channels

    def get_out_channels(self, layer: nn.Module) -> int:
        return layer.conv.out_channels

    def get_in_channels(self, layer: nn.Module) -> int:
        return layer.conv0.in_channels

    def internal_groups(self, layer: nn.Module) -> List[InternalGroup]:
        return [
            InternalGroup('lsk_split', [('conv1', 'out'), ('conv2', 'out'),
                                        ('conv', 'in')])
        ]
