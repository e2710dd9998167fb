from .checkpoint_fit_hook import CheckpointFitHook
from .structured_pruning_hook import StructuredPruningHook
from .unstructured_sparsity_hook import UnstructuredSparsityHook
from .weight_inheritance_hook import WeightInheritanceHook

__all__ = [
    'CheckpointFitHook', 'StructuredPruningHook', 'UnstructuredSparsityHook',
    'WeightInheritanceHook'
]
