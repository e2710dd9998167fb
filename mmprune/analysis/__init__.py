"""Model analysis (parameters and FLOPs per module)."""
from .module_breakdown import (ModuleBreakdown, compare_breakdowns,
                               module_breakdown, synthetic_batch)

__all__ = [
    'ModuleBreakdown', 'compare_breakdowns', 'module_breakdown',
    'synthetic_batch'
]
