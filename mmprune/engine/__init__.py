"""The MMEngine side: hooks (and later model wrappers) over the core."""
from . import compressed_checkpoint_loader  # noqa: F401
from .hooks import (StructuredPruningHook, UnstructuredSparsityHook,
                    WeightInheritanceHook)

__all__ = [
    'StructuredPruningHook', 'UnstructuredSparsityHook',
    'WeightInheritanceHook'
]
