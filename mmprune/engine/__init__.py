"""The MMEngine side: hooks (and later model wrappers) over the core."""
from .hooks import WeightInheritanceHook

__all__ = ['WeightInheritanceHook']
