"""The one place mmprune reaches into Torch-Pruning's internals.

Torch-Pruning's public API (``DependencyGraph``, the pruners, importances
and ``BasePruningFunc``) is used across the core. What it does not offer
is done here, and only here, by subclassing or by patching for the length
of one call:

- :mod:`.guarded_graph`: a dependency graph and pruners whose per-group
  failures are contained (patches ``index_mapping``,
  ``_FlattenIndexMapping`` and ``Group`` while a graph is built);
- :mod:`.segment_aware_pruner`: ``round_to`` per concatenated branch
  (overrides private methods of ``BasePruner``);
- :mod:`.bn_importance`, :mod:`.bn_scale_pruner`: BatchNorm importances
  and the slimming penalty for any OpenMMLab BatchNorm (override
  ``_reduce``, read ``BNScalePruner._groups``).

These were written against the releases in :data:`TORCH_PRUNING_RANGE`;
importing this package with another release fails, naming the range.
"""
from mmprune.compat.versions import SUPPORTED, check_version

#: the Torch-Pruning releases the code of this package was written against
TORCH_PRUNING_RANGE = SUPPORTED['torch-pruning']
check_version('torch-pruning')

# isort: off
# after the check: with another release these imports may fail unnamed
from .bn_importance import BNGroupL2Importance  # noqa: E402
from .bn_importance import BNScaleImportance  # noqa: E402
from .bn_scale_pruner import BNScalePruner  # noqa: E402
from .guarded_graph import GroupTooLargeError  # noqa: E402
from .guarded_graph import GuardedDependencyGraph  # noqa: E402
from .guarded_graph import GuardedPrunerMixin  # noqa: E402
from .guarded_graph import guarded_graphs  # noqa: E402
from .segment_aware_pruner import SegmentAwarePruner  # noqa: E402
# isort: on

__all__ = [
    'TORCH_PRUNING_RANGE', 'BNGroupL2Importance', 'BNScaleImportance',
    'BNScalePruner', 'GroupTooLargeError', 'GuardedDependencyGraph',
    'GuardedPrunerMixin', 'SegmentAwarePruner', 'guarded_graphs'
]
