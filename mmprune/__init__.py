"""mmprune: pruning, slimming, sparsity and distillation for OpenMMLab.

``import mmprune`` first applies the compatibility shims (before anything
imports mmrotate), then registers mmprune's modules, so a config needs only
``custom_imports=dict(imports=['mmprune'])``.
"""
from .compat import apply_all as _apply_compat

_apply_compat()

from . import datasets  # noqa: E402,F401  (registers the shapes datasets)
from . import engine  # noqa: E402,F401  (registers the hooks)
from . import models  # noqa: E402,F401  (registers LSKNet)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
