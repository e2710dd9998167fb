"""PKD: feature distillation through the Pearson correlation coefficient
(Cao et al., NeurIPS 2022)."""
import torch
import torch.nn.functional as F

from mmprune.registry import MODELS
from .feature_mse_loss import AdaptedFeatureLoss


def normalize_channels(feat: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each channel to zero mean and unit standard deviation over the
    batch and every location (``(N, C, H, W)``)."""
    n, c, h, w = feat.shape
    flat = feat.transpose(0, 1).reshape(c, -1)
    flat = (flat - flat.mean(1, keepdim=True)) / (
        flat.std(1, keepdim=True) + eps)
    return flat.reshape(c, n, h, w).transpose(0, 1)


@MODELS.register_module()
class PKDLoss(AdaptedFeatureLoss):
    """``loss_weight`` * mean((norm(adapter(s)) - norm(t))^2) / 2, where
    ``norm`` standardises each channel over batch and locations: half the
    mean squared error of standardised features is ``1 - r`` for each
    channel's Pearson correlation ``r`` between student and teacher, so
    the student matches the teacher's relations, not its magnitudes (which
    differ between detectors, and between a model and its pruned self).

    Maps of different sizes: the student's is resized (bilinear) to the
    teacher's with ``resize_student=True``, otherwise the teacher's to the
    student's. A pruned student with fewer channels goes through the
    distiller's 1x1 adapter first.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 resize_student: bool = True) -> None:
        super().__init__(loss_weight)
        self.resize_student = resize_student

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        student = self.adapt(student)
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError('PKDLoss expects (N, C, H, W) feature maps, got '
                             f'{tuple(student.shape)} and '
                             f'{tuple(teacher.shape)}')
        if student.shape[-2:] != teacher.shape[-2:]:
            if self.resize_student:
                student = F.interpolate(
                    student,
                    teacher.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
            else:
                teacher = F.interpolate(
                    teacher,
                    student.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
        loss = F.mse_loss(
            normalize_channels(student), normalize_channels(teacher)) / 2
        return self.loss_weight * loss
