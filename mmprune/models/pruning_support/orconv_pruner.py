"""Pruner for mmrotate's oriented convolution (``ORConv2d``, S2ANet's
alignment head)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmrotate.models.utils import ORConv2d

from mmprune.core.layer_pruners import OpaqueLayerPruner, register_layer_pruner


def _whole_planes(idxs: Sequence[int], per_plane: int, what: str,
                  layer: nn.Module) -> List[int]:
    """The planes whose ``per_plane`` channels are all in ``idxs``; a plane
    cut in part cannot be expressed in the layer's weight."""
    idxs = set(int(i) for i in idxs)
    planes = sorted({i // per_plane for i in idxs})
    partial = [
        p for p in planes
        if any(p * per_plane + k not in idxs for k in range(per_plane))
    ]
    if partial:
        raise ValueError(
            f'{type(layer).__name__}: its {what} channels come in blocks of '
            f'{per_plane} per plane, and planes {partial[:5]} would be cut '
            'in part')
    return planes


def _keep(n: int, removed: Sequence[int]) -> torch.Tensor:
    removed = set(removed)
    return torch.tensor([i for i in range(n) if i not in removed],
                        dtype=torch.long)


@register_layer_pruner(ORConv2d)
class ORConv2dPruner(OpaqueLayerPruner):
    """``ORConv2d`` stores its weight as ``(out, in, nOrientation, k, k)``
    and convolves with ``nRotation`` rotated copies of it (mmcv's
    ``active_rotated_filter``): the layer takes ``in * nOrientation``
    channels and gives ``out * nRotation``, input channel ``j * nOrientation
    + o`` and output channel ``i * nRotation + r``. Torch-Pruning reads it
    as a plain conv of ``in`` -> ``out`` channels and prunes the wrong
    dimensions (the bias of 8x the outputs no longer fits), so it is
    traced as one node. Its inputs (the FPN width) are pruned by whole
    input planes. Its outputs are kept: the next layer
    (``RotationInvariantPooling``) max-pools each plane's ``nRotation``
    channels by a reshape, which no tracer maps back to channels."""

    def get_in_channels(self, layer: nn.Module) -> int:
        return layer.weight.shape[1] * layer.nOrientation

    def get_out_channels(self, layer: nn.Module) -> int:
        return layer.weight.shape[0] * layer.nRotation

    def prune_in_channels(self, layer: nn.Module,
                          idxs: Sequence[int]) -> nn.Module:
        planes = _whole_planes(idxs, layer.nOrientation, 'input', layer)
        keep = _keep(layer.weight.shape[1], planes)
        layer.weight = nn.Parameter(layer.weight.data[:, keep].clone())
        layer.in_channels = len(keep)
        return layer

    def prune_out_channels(self, layer: nn.Module,
                           idxs: Sequence[int]) -> nn.Module:
        planes = _whole_planes(idxs, layer.nRotation, 'output', layer)
        keep = _keep(layer.weight.shape[0], planes)
        layer.weight = nn.Parameter(layer.weight.data[keep].clone())
        if layer.bias is not None:
            channels = (keep[:, None] * layer.nRotation +
                        torch.arange(layer.nRotation)).flatten()
            layer.bias = nn.Parameter(layer.bias.data[channels].clone())
        layer.out_channels = len(keep)
        return layer

    def kept_out_channels_reason(self, layer: nn.Module) -> Optional[str]:
        return ('oriented conv: each output plane is nRotation rotated '
                'copies that RotationInvariantPooling max-pools by a '
                'reshape; its outputs are kept, its inputs pruned')
