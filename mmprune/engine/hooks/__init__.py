from .unstructured_sparsity_hook import UnstructuredSparsityHook
from .weight_inheritance_hook import WeightInheritanceHook

__all__ = ['UnstructuredSparsityHook', 'WeightInheritanceHook']
