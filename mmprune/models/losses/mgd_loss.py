"""MGD: masked generative distillation (Yang et al., ECCV 2022)."""
from typing import Optional

import torch
import torch.nn as nn

from mmprune.registry import MODELS
from .feature_mse_loss import AdaptedFeatureLoss


@MODELS.register_module()
class MGDLoss(AdaptedFeatureLoss):
    """The student's feature map (through the distiller's 1x1 adapter when
    the widths differ) has a random ``mask_ratio`` of its locations zeroed;
    a small generator (3x3 conv, ReLU, 3x3 conv at the teacher's width)
    must rebuild the teacher's whole map from what is left:
    ``loss_weight`` * sum((G(mask * s) - t)^2) / N.

    The generator is learnt with the student and dropped after training
    (it lives in the loss, like the adapter); the paper's weights are
    ``loss_weight=2e-5`` for detection FPN features and ``mask_ratio=0.65``
    (0.75 for segmentation).
    """

    def __init__(self,
                 loss_weight: float = 2e-5,
                 mask_ratio: float = 0.65) -> None:
        super().__init__(loss_weight)
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f'MGDLoss: mask_ratio = {mask_ratio} must be in '
                             '[0, 1)')
        self.mask_ratio = mask_ratio
        self.generator: Optional[nn.Module] = None

    def fit_widths(self, student_channels: int, teacher_channels: int,
                   spatial: bool) -> bool:
        """The adapter as for every adapted loss, and the generator at the
        teacher's width (needed whether or not the widths differ)."""
        if not spatial:
            raise ValueError('MGDLoss pairs (N, C, H, W) feature maps; the '
                             'named modules give 2-D outputs')
        changed = super().fit_widths(student_channels, teacher_channels,
                                     spatial)
        if self.generator is None or \
                self.generator[0].in_channels != teacher_channels:
            self.build_generator(teacher_channels)
            changed = True
        return changed

    def build_generator(self, teacher_channels: int) -> None:
        c = teacher_channels
        self.generator = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1))

    def random_mask(self, student: torch.Tensor) -> torch.Tensor:
        """1 where a location is kept, 0 where it is masked; one mask per
        image, shared by every channel."""
        n, _, h, w = student.shape
        keep = torch.rand(n, 1, h, w, device=student.device)
        return (keep >= self.mask_ratio).to(student.dtype)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError('MGDLoss expects (N, C, H, W) feature maps, got '
                             f'{tuple(student.shape)} and '
                             f'{tuple(teacher.shape)}')
        if self.generator is None:
            raise RuntimeError(
                'MGDLoss: the generator is not built; MGDLoss is built by '
                'mmprune.Distiller, which sizes it to the teacher (or call '
                'build_generator(teacher_channels))')
        student = self.adapt(student)
        if student.shape[-2:] != teacher.shape[-2:]:
            raise ValueError(
                'MGDLoss: student and teacher maps differ in size '
                f'({tuple(student.shape[-2:])} vs '
                f'{tuple(teacher.shape[-2:])}); pair modules at the same '
                'stride')
        generated = self.generator(student * self.random_mask(student))
        return self.loss_weight * ((generated - teacher)**2).sum() / \
            student.shape[0]
