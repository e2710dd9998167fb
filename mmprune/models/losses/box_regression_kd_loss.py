"""Box-regression distillation: the student's regression outputs follow
the teacher's for the same anchors, points or RoIs."""
import torch
import torch.nn.functional as F

from mmprune.registry import MODELS


@MODELS.register_module()
class BoxRegressionKDLoss(torch.nn.Module):
    """Smooth L1 (``beta`` > 0) or L2 (``beta`` = 0: mean squared error)
    between student and teacher regression outputs, averaged over every
    element. Class-specific RoI regression (N, 4 * C or 5 * C) is compared
    whole."""

    def __init__(self, beta: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if beta < 0:
            raise ValueError(f'BoxRegressionKDLoss: beta = {beta} must be '
                             '>= 0')
        self.beta, self.loss_weight = beta, loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        if self.beta == 0:
            loss = F.mse_loss(student, teacher)
        else:
            loss = F.smooth_l1_loss(student, teacher, beta=self.beta)
        return self.loss_weight * loss
