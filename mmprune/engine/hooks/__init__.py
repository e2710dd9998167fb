from .weight_inheritance_hook import WeightInheritanceHook

__all__ = ['WeightInheritanceHook']
