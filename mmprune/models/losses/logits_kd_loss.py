"""Logits distillation (Hinton et al. 2015) for classification outputs of
dense heads, RPN objectness, RoI heads and segmentation decode heads."""
import torch
import torch.nn.functional as F

from mmprune.registry import MODELS


@MODELS.register_module()
class LogitsKDLoss(torch.nn.Module):
    """KL(teacher || student) of temperature-softened class distributions,
    times tau^2, averaged over every position (RoIs, pixels, anchors).

    Class scores are along dim 1: (N, C) for RoI heads, (N, C, H, W) for
    conv heads and segmentation logits. ``use_sigmoid=True`` is for heads
    trained with sigmoid scores (RPN objectness, RTMDet, RetinaNet): every
    logit is its own Bernoulli distribution and the KL is averaged over
    all of them.
    """

    def __init__(self,
                 tau: float = 1.0,
                 use_sigmoid: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'LogitsKDLoss: tau = {tau} must be > 0')
        self.tau, self.use_sigmoid = tau, use_sigmoid
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        s, t = student / self.tau, teacher / self.tau
        if self.use_sigmoid:
            p = torch.sigmoid(t)
            kl = p * (F.logsigmoid(t) - F.logsigmoid(s)) + \
                (1 - p) * (F.logsigmoid(-t) - F.logsigmoid(-s))
            loss = kl.mean()
        else:
            kl = F.kl_div(
                F.log_softmax(s, 1),
                F.log_softmax(t, 1),
                reduction='none',
                log_target=True).sum(1)
            loss = kl.mean()
        return self.loss_weight * loss * self.tau**2
