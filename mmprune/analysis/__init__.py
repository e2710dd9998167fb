"""Model analysis (parameters and FLOPs per module, latency)."""
from .channel_plot import plot_layer_channels
from .latency import measure_latency
from .module_breakdown import (ModuleBreakdown, compare_breakdowns,
                               module_breakdown)

__all__ = [
    'ModuleBreakdown', 'compare_breakdowns', 'measure_latency',
    'module_breakdown', 'plot_layer_channels'
]
