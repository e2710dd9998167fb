"""Torch-Pruning pruners for layers its tracer cannot see through, found by
registration instead of if-chains.

Torch-Pruning couples channels by walking the autograd graph. Inside some
layers that walk goes wrong: LSKNet's LSK module concatenates two branches,
reduces the concatenation to a channel mean and max, and gates each branch
with a slice of a 2-channel map, which the tracer would read as element-wise
ops that tie unrelated channel counts together. A layer registered here is
traced as one opaque node (see ``mmprune.core.tracing``) and pruned by its
own ``prune_out_channels``/``prune_in_channels``. Channels that only live
inside the layer (such as the LSK split) are exposed as
``internal_groups`` so that callers can rank and narrow them too.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Type

import torch.nn as nn
import torch_pruning as tp

#: layer class -> its pruner
LAYER_PRUNERS: Dict[Type[nn.Module], 'OpaqueLayerPruner'] = {}


def register_layer_pruner(layer_type: Type[nn.Module]):
    """Class decorator: register a pruner instance for ``layer_type``."""

    def wrap(pruner_cls):
        LAYER_PRUNERS[layer_type] = pruner_cls()
        return pruner_cls

    return wrap


@dataclass
class InternalGroup:
    """Channels that exist only inside one layer: every member is
    ``(submodule name, 'out' | 'in')`` and they all index the same
    channels (e.g. the LSK split: conv1 out, conv2 out, conv in)."""
    name: str
    members: List[Tuple[str, str]]


class OpaqueLayerPruner(tp.pruner.BasePruningFunc):
    """Base of the pruners in :data:`LAYER_PRUNERS`."""
    # True for layers whose inputs are only reliably connected in the
    # training forward (so the model is traced through its loss).
    needs_training_forward = False

    def internal_groups(self, layer: nn.Module) -> List[InternalGroup]:
        return []

    def kept_out_channels_reason(self, layer: nn.Module) -> Optional[str]:
        """Why ``layer``'s output channels cannot be pruned (they are then
        kept and the reason reported), or None when they can."""
        return None


def pruner_for(module: nn.Module) -> Optional['OpaqueLayerPruner']:
    """The registered pruner of ``module``'s class or nearest base class."""
    for cls in type(module).__mro__:
        if cls in LAYER_PRUNERS:
            return LAYER_PRUNERS[cls]
    return None


def prune_member(layer: nn.Module, member: Tuple[str, str],
                 idxs: List[int]) -> None:
    """Remove ``idxs`` from one internal-group member with Torch-Pruning's
    layer functions."""
    sub = layer.get_submodule(member[0])
    if member[1] == 'out':
        tp.prune_conv_out_channels(sub, idxs) if isinstance(
            sub, nn.Conv2d) else tp.prune_linear_out_channels(sub, idxs)
    else:
        tp.prune_conv_in_channels(sub, idxs) if isinstance(
            sub, nn.Conv2d) else tp.prune_linear_in_channels(sub, idxs)


def member_channels(layer: nn.Module, member: Tuple[str, str]) -> int:
    sub = layer.get_submodule(member[0])
    weight = sub.weight
    return weight.shape[0] if member[1] == 'out' else weight.shape[1]
