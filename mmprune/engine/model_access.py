"""Which module a hook acts on."""
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmprune.models.distillers import Distiller


def unwrapped(model: nn.Module) -> nn.Module:
    """The model inside a DDP (or other) wrapper."""
    return model.module if is_model_wrapper(model) else model


def student_model(model: nn.Module) -> nn.Module:
    """The model being trained: DDP unwrapped, and the student of a
    ``Distiller`` (slimming and sparsity apply to the student, never to the
    teacher or the distillation adapters)."""
    model = unwrapped(model)
    return model.student if isinstance(model, Distiller) else model


def distiller_of(model: nn.Module) -> Optional[Distiller]:
    """The ``Distiller`` the runner trains, or None."""
    model = unwrapped(model)
    return model if isinstance(model, Distiller) else None
