"""Pruner for mmcv's deformable convolution (``DeformConv2d`` and its
``DeformConv2dPack``): S2ANet's alignment conv, RepPoints' heads."""
from typing import Sequence

import torch.nn as nn
import torch_pruning as tp
from mmcv.ops import DeformConv2d

from mmprune.core.layer_pruners import OpaqueLayerPruner, register_layer_pruner


def _check_groups(layer: nn.Module) -> None:
    if layer.groups != 1:
        raise ValueError(f'DeformConv2d with groups={layer.groups}: only '
                         'groups=1 is pruned')


@register_layer_pruner(DeformConv2d)
class DeformConv2dPruner(OpaqueLayerPruner):
    """A deformable conv samples its input at offsets (an input of its
    forward, or its ``conv_offset``'s output for the Pack variant) through
    mmcv's own autograd function, which Torch-Pruning cannot map: it saw a
    node with the same channels in and out and left the weight whole. Its
    weight is a conv's ``(out, in, k, k)``, so it is pruned as one; the
    offsets keep their width (two per kernel point), and the Pack's offset
    conv loses the same inputs."""

    def get_in_channels(self, layer: nn.Module) -> int:
        return layer.in_channels

    def get_out_channels(self, layer: nn.Module) -> int:
        return layer.out_channels

    def prune_out_channels(self, layer: nn.Module,
                           idxs: Sequence[int]) -> nn.Module:
        _check_groups(layer)
        keep = [i for i in range(layer.out_channels) if i not in set(idxs)]
        layer.weight = nn.Parameter(layer.weight.data[keep].clone())
        layer.out_channels = len(keep)
        return layer

    def prune_in_channels(self, layer: nn.Module,
                          idxs: Sequence[int]) -> nn.Module:
        _check_groups(layer)
        keep = [i for i in range(layer.in_channels) if i not in set(idxs)]
        layer.weight = nn.Parameter(layer.weight.data[:, keep].clone())
        layer.in_channels = len(keep)
        if isinstance(getattr(layer, 'conv_offset', None), nn.Conv2d):
            tp.prune_conv_in_channels(layer.conv_offset, list(idxs))
        return layer
