"""Pruning support for model-specific layers: each module registers a
Torch-Pruning pruner for one layer class (``register_layer_pruner``), so
the core never imports a model library."""
from .deform_conv_pruner import DeformConv2dPruner
from .lsk_module_pruner import LSKModulePruner
from .roi_extractor_pruner import RoIExtractorPruner

__all__ = ['DeformConv2dPruner', 'LSKModulePruner', 'RoIExtractorPruner']

try:  # rotated detection is optional for detection/segmentation users
    from .feature_refine_pruner import FeatureRefinePruner  # noqa: F401
    from .orconv_pruner import ORConv2dPruner  # noqa: F401
    __all__ += ['FeatureRefinePruner', 'ORConv2dPruner']
except ImportError:  # pragma: no cover - mmrotate is part of the stack
    pass
