"""The MMEngine side: hooks (and later model wrappers) over the core."""
from . import compressed_checkpoint_loader  # noqa: F401
from .hooks import (CheckpointFitHook, StructuredPruningHook,
                    UnstructuredSparsityHook, WeightInheritanceHook)

__all__ = [
    'CheckpointFitHook', 'StructuredPruningHook', 'UnstructuredSparsityHook',
    'WeightInheritanceHook'
]
