"""mmprune's model components (registered in ``mmprune.registry.MODELS``)."""
from . import families  # noqa: F401  (registers the model families)
from . import pruning_support  # noqa: F401  (registers the layer pruners)
from .backbones import LSKNet
from .distillers import Distiller
from .losses import (BoxRegressionKDLoss, ChannelWiseDivergence,
                     FeatureMSELoss, LogitsKDLoss)

__all__ = [
    'BoxRegressionKDLoss', 'ChannelWiseDivergence', 'Distiller',
    'FeatureMSELoss', 'LSKNet', 'LogitsKDLoss'
]
