"""Feature imitation: mean squared error between (adapted) student and
teacher feature maps."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmprune.registry import MODELS


class AdaptedFeatureLoss(nn.Module):
    """A feature loss with an optional learnable 1x1 conv (or linear, for
    2-D outputs) mapping student channels to teacher channels; the
    distiller creates it when the widths differ (``build_adapter``)."""

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.adapter: Optional[nn.Module] = None

    def build_adapter(self, student_channels: int, teacher_channels: int,
                      spatial: bool) -> None:
        self.adapter = (nn.Conv2d if spatial else nn.Linear)(
            student_channels, teacher_channels, *((1, ) if spatial else ()))

    def fit_widths(self, student_channels: int, teacher_channels: int,
                   spatial: bool) -> bool:
        """Size the loss's learnt parts for these widths: no adapter when
        they are equal, a new one when the present adapter does not map
        ``student_channels`` to ``teacher_channels`` (a student pruned after
        the distiller was built). Returns whether anything was rebuilt."""
        if student_channels == teacher_channels:
            changed = self.adapter is not None
            self.adapter = None
            return changed
        if self.adapter is not None and tuple(
                self.adapter.weight.shape[:2]) == (teacher_channels,
                                                   student_channels):
            return False
        self.build_adapter(student_channels, teacher_channels, spatial)
        return True

    def adapt(self, student: torch.Tensor) -> torch.Tensor:
        return student if self.adapter is None else self.adapter(student)


@MODELS.register_module()
class FeatureMSELoss(AdaptedFeatureLoss):
    """``loss_weight`` * mean((adapter(s) - t)^2) over every element."""

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.mse_loss(self.adapt(student), teacher)
