"""mmprune's model components (registered in ``mmprune.registry.MODELS``)."""
from .backbones import LSKNet
from .distillers import Distiller
from .losses import (BoxRegressionKDLoss, ChannelWiseDivergence,
                     FeatureMSELoss, LogitsKDLoss)
from . import families  # noqa: F401  (registers the model families)
from . import pruning_support  # noqa: F401  (registers the layer pruners)

__all__ = [
    'BoxRegressionKDLoss', 'ChannelWiseDivergence', 'Distiller',
    'FeatureMSELoss', 'LSKNet', 'LogitsKDLoss'
]
