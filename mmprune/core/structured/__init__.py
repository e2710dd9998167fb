"""Structured channel pruning: methods by name and the runner-free
``prune_model``."""
from .layers import protected_modules
from .methods import (PruningMethod, get_pruning_method, pruning_method_names,
                      register_pruning_method)
from .options import PruningOptions, check_target
from .prune import prune_model
from .result import StructuredPruningResult, TargetNotReachedError

__all__ = [
    'PruningMethod', 'PruningOptions', 'StructuredPruningResult',
    'TargetNotReachedError', 'check_target', 'get_pruning_method',
    'protected_modules', 'prune_model', 'pruning_method_names',
    'register_pruning_method'
]
