"""Model analysis (parameters and FLOPs per module, latency)."""
from .latency import measure_latency
from .module_breakdown import (ModuleBreakdown, compare_breakdowns,
                               module_breakdown, synthetic_batch)

__all__ = [
    'ModuleBreakdown', 'compare_breakdowns', 'measure_latency',
    'module_breakdown', 'synthetic_batch'
]
