"""Pruning support for model-specific layers: each module registers a
Torch-Pruning pruner for one layer class (``register_layer_pruner``), so
the core never imports a model library. A pruner for a task library's
layer registers only when that library is installed."""
from mmprune.compat.task_libraries import library_available
from .deform_conv_pruner import DeformConv2dPruner
from .lsk_module_pruner import LSKModulePruner

__all__ = ['DeformConv2dPruner', 'LSKModulePruner']

if library_available('mmdet'):
    from .roi_extractor_pruner import RoIExtractorPruner  # noqa: F401
    __all__ += ['RoIExtractorPruner']
if library_available('mmrotate'):
    from .feature_refine_pruner import FeatureRefinePruner  # noqa: F401
    from .orconv_pruner import ORConv2dPruner  # noqa: F401
    __all__ += ['FeatureRefinePruner', 'ORConv2dPruner']
