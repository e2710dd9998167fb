"""Channel importance by name, over Torch-Pruning's importance classes."""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch_pruning as tp

#: the criteria that rank channels from the weights alone
WEIGHT_IMPORTANCES = ('l1', 'l2', 'bn_scale')


def build_weight_importance(name: str) -> tp.importance.Importance:
    """``l1``/``l2``: the p-norm of each channel's weights in every coupled
    conv, linear and norm layer, averaged over the group
    (``GroupMagnitudeImportance``); ``bn_scale``: the |gamma| of the group's
    BatchNorms (network slimming, ``BNScaleImportance``)."""
    if name == 'l1':
        return tp.importance.GroupMagnitudeImportance(p=1, normalizer=None)
    if name == 'l2':
        return tp.importance.GroupMagnitudeImportance(p=2, normalizer=None)
    if name == 'bn_scale':
        return tp.importance.BNScaleImportance(normalizer=None)
    raise ValueError(f'unknown importance "{name}": choose one of '
                     f'{", ".join(WEIGHT_IMPORTANCES)}')


def member_importance(layer: nn.Module, members: List[Tuple[str, str]],
                      p: int) -> torch.Tensor:
    """The same p-norm criterion for an internal group of one layer
    (Torch-Pruning only scores groups it traced): per member, the norm of
    each channel's weight slice, averaged over the members."""
    scores = []
    for sub_name, side in members:
        weight = layer.get_submodule(sub_name).weight.detach()
        w = weight if side == 'out' else weight.transpose(0, 1)
        scores.append(w.flatten(1).abs().pow(p).sum(1))
    return torch.stack(scores).mean(0)
