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
import functools
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Type

import torch.nn as nn
import torch_pruning as tp

from mmprune.registry import LAYER_PRUNERS


def register_layer_pruner(layer_type: Type[nn.Module], force: bool = False):
    """Class decorator: register a pruner class for ``layer_type`` (and
    its subclasses) in :data:`mmprune.registry.LAYER_PRUNERS`, under the
    layer class's name."""

    def wrap(pruner_cls: Type['OpaqueLayerPruner']):
        pruner_cls.layer_type = layer_type
        LAYER_PRUNERS.register_module(
            name=layer_type.__name__, module=pruner_cls, force=force)
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
    """Base of the pruners in :data:`mmprune.registry.LAYER_PRUNERS`."""
    #: the layer class it prunes (set when registered)
    layer_type: Type[nn.Module] = nn.Module
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
        # by name, then by identity: another library's class of the same
        # name is not the registered one
        pruner_cls = LAYER_PRUNERS.module_dict.get(cls.__name__)
        if pruner_cls is not None and pruner_cls.layer_type is cls:
            return _pruner(pruner_cls)
    return None


def custom_pruners(model: nn.Module) -> Dict[type, 'OpaqueLayerPruner']:
    """Torch-Pruning's ``customized_pruners`` for ``model``: the pruner of
    each of its layer types that has one registered."""
    found = {type(m): pruner_for(m) for m in model.modules()}
    return {t: p for t, p in found.items() if p is not None}


@functools.lru_cache(maxsize=None)
def _pruner(pruner_cls: Type['OpaqueLayerPruner']) -> 'OpaqueLayerPruner':
    # one instance per class: Torch-Pruning's graph maps layer types to
    # pruner instances
    return pruner_cls()


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
