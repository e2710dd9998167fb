"""Channel-wise distillation (Shu et al., ICCV 2021)."""
import torch
import torch.nn.functional as F

from mmprune.registry import MODELS
from .feature_mse_loss import AdaptedFeatureLoss


@MODELS.register_module()
class ChannelWiseDivergence(AdaptedFeatureLoss):
    """Each channel's activation map becomes a distribution over locations
    (softmax with temperature ``tau``); the loss is KL(teacher || student)
    summed over locations, times tau^2, averaged over batch and channels.
    Inputs are (N, C, H, W)."""

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if tau <= 0:
            raise ValueError(f'ChannelWiseDivergence: tau = {tau} must be > 0')
        self.tau = tau

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        student = self.adapt(student)
        if student.dim() != 4:
            raise ValueError('ChannelWiseDivergence expects (N, C, H, W) '
                             f'feature maps, got shape {tuple(student.shape)}')
        n, c = teacher.shape[:2]
        s = student.reshape(n * c, -1) / self.tau
        t = teacher.reshape(n * c, -1) / self.tau
        kl = F.kl_div(
            F.log_softmax(s, 1),
            F.log_softmax(t, 1),
            reduction='sum',
            log_target=True)
        return self.loss_weight * kl * self.tau**2 / (n * c)
