"""Distillation losses (registered in ``mmprune.registry.MODELS``)."""
from .box_regression_kd_loss import BoxRegressionKDLoss
from .channel_wise_divergence import ChannelWiseDivergence
from .feature_mse_loss import AdaptedFeatureLoss, FeatureMSELoss
from .logits_kd_loss import LogitsKDLoss
from .mgd_loss import MGDLoss
from .pkd_loss import PKDLoss

__all__ = [
    'AdaptedFeatureLoss', 'BoxRegressionKDLoss', 'ChannelWiseDivergence',
    'FeatureMSELoss', 'LogitsKDLoss', 'MGDLoss', 'PKDLoss'
]
