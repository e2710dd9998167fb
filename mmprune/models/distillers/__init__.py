"""Knowledge distillation: the ``Distiller`` model wrapper."""
from .distiller import Distiller

__all__ = ['Distiller']
