"""mmprune's model components (registered in ``mmprune.registry.MODELS``)."""
from .backbones import LSKNet
from .distillers import Distiller
from .losses import (BoxRegressionKDLoss, ChannelWiseDivergence,
                     FeatureMSELoss, LogitsKDLoss)

__all__ = [
    'BoxRegressionKDLoss', 'ChannelWiseDivergence', 'Distiller',
    'FeatureMSELoss', 'LSKNet', 'LogitsKDLoss'
]
