"""Torch-Pruning's dependency graph with its per-group failures contained.

Torch-Pruning searches every root layer's group, maps indices through
concatenations and splits, and estimates importances, all inside one
generator: the first exception in any group (measured: an ``IndexError`` in
the concat index mapping of DETR's transformer, in the importance of
BiSeNetV2) ends the whole search, and the run with it. No Torch-Pruning
option catches these. Here a group whose search fails becomes an empty
group, recorded with its error, and is skipped; the rest of the model is
still pruned.
"""
import contextlib
from typing import Dict, Iterator

import torch.nn as nn
import torch_pruning as tp
from torch_pruning import ops
from torch_pruning.dependency import Group, index_mapping
from torch_pruning.pruner.algorithms import base_pruner

# Torch-Pruning's update_index_mapping, node type by node type (the
# expand mapping needs torch >= 1.8, which the stack always has)
_INDEX_MAPPINGS = {
    ops.OPTYPE.CONCAT: 'update_concat_index_mapping',
    ops.OPTYPE.SPLIT: 'update_split_index_mapping',
    ops.OPTYPE.RESHAPE: 'update_reshape_index_mapping',
    ops.OPTYPE.UNBIND: 'update_unbind_index_mapping',
    ops.OPTYPE.EXPAND: 'update_expand_index_mapping',
    ops.OPTYPE.SLICE: 'update_slice_index_mapping',
}


def _error_text(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0][:300] if text else ""}'


class GuardedDependencyGraph(tp.DependencyGraph):
    """Records ``failed[root layer] = error`` instead of raising from a
    group search, and never yields an empty group. A concatenation or
    split whose index mapping fails (DETR's positional encodings) keeps
    Torch-Pruning's default mapping, recorded in ``unmapped``: a group that
    then prunes wrongly is caught by the model check and rolled back."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: Dict[nn.Module, str] = {}
        self.unmapped: Dict[str, str] = {}

    def build_dependency(self, *args, **kwargs):
        original = index_mapping.update_index_mapping

        def guarded(graph) -> None:
            for node in list(graph.module2node.values()):
                update = _INDEX_MAPPINGS.get(node.type)
                if update is None:
                    continue
                try:
                    getattr(index_mapping, update)(graph, node)
                except Exception as e:  # noqa: BLE001 - recorded
                    graph.unmapped[str(node.name)] = _error_text(e)

        index_mapping.update_index_mapping = guarded
        try:
            return super().build_dependency(*args, **kwargs)
        finally:
            index_mapping.update_index_mapping = original

    def get_pruning_group(self, module, pruning_fn, idxs) -> Group:
        try:
            return super().get_pruning_group(module, pruning_fn, idxs)
        except Exception as e:  # noqa: BLE001 - recorded, group skipped
            self.failed.setdefault(module, 'Torch-Pruning could not build '
                                   f'its group: {_error_text(e)}')
            group = Group()
            group._DG = self
            return group

    def get_all_groups(self, *args, **kwargs) -> Iterator[Group]:
        for group in super().get_all_groups(*args, **kwargs):
            if len(group) > 0:
                yield group


@contextlib.contextmanager
def guarded_graphs() -> Iterator[None]:
    """Torch-Pruning's pruners build their graph inside their constructor:
    have them build a :class:`GuardedDependencyGraph` meanwhile."""
    original = base_pruner.dependency.DependencyGraph
    base_pruner.dependency.DependencyGraph = GuardedDependencyGraph
    try:
        yield
    finally:
        base_pruner.dependency.DependencyGraph = original


class GuardedPrunerMixin:
    """For a Torch-Pruning pruner: a group whose channel grouping or
    importance fails is skipped (its error in ``self.DG.failed``)."""

    def _root(self, group):
        return group[0].dep.target.module if len(group) else None

    def _get_channel_groups(self, group) -> int:
        try:
            return super()._get_channel_groups(group)
        except Exception as e:  # noqa: BLE001 - recorded, group skipped
            self._fail(group, 'channel grouping', e)
            return 1

    def estimate_importance(self, group):
        if len(group) == 0 or self._root(group) in self.DG.failed:
            return None
        try:
            return super().estimate_importance(group)
        except Exception as e:  # noqa: BLE001 - recorded, group skipped
            self._fail(group, 'importance estimation', e)
            return None

    def _fail(self, group, stage: str, e: BaseException) -> None:
        root = self._root(group)
        if root is not None and hasattr(self.DG, 'failed'):
            self.DG.failed.setdefault(
                root, f'Torch-Pruning failed in {stage}: {_error_text(e)}')
