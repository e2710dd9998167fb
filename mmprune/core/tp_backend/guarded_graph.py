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
import functools
import itertools
from typing import Dict, Iterator, Optional

import torch.nn as nn
import torch_pruning as tp
from torch_pruning import ops
from torch_pruning.dependency import Group
from torch_pruning.dependency import graph as tp_graph
from torch_pruning.dependency import index_mapping
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


#: the most channel indices one group may carry: past it, index mapping
#: through reshapes whose second dimension is not channels has run away
#: (a legitimate group of a 256-wide FPN over 7x7 RoI FCs holds ~10^5)
MAX_GROUP_INDICES = 2_000_000
#: the most dependencies one group search may add before merging them: a
#: legitimate search adds one per layer it reaches (hundreds); Deformable
#: DETR's split/concat mappings fed one search 8 million single-index
#: entries in 50 s without converging
MAX_GROUP_ENTRIES = 50_000


class GroupTooLargeError(RuntimeError):
    pass


def _flatten_indices(self, idxs):
    """Torch-Pruning's ``_FlattenIndexMapping.__call__`` with the same
    result, its namedtuples built in C: a flatten multiplies a group's
    indices by its stride, and building them one Python call at a time was
    most of the time TOOD's task-decomposition reshapes took to trace."""
    make = functools.partial(tuple.__new__, tp._helpers._HybridIndex)
    stride = self._stride
    if self.reverse:
        return list(
            set(map(make, ((i.idx // stride, i.root_idx) for i in idxs))))
    out = []
    for i in idxs:
        out.extend(
            map(
                make,
                zip(
                    range(i.idx * stride, (i.idx + 1) * stride),
                    itertools.repeat(i.root_idx))))
    return out


class IndexedGroup(Group):
    """Torch-Pruning's group with its two lookups hashed. Its search asks
    ``has_pruning_op`` for every dependency it reaches, and the stock
    answer scans the whole group comparing index lists: quadratic in the
    group's size times its width. Heads shared over five FPN levels
    (YOLACT, TOOD, Double Heads) make groups of thousands of entries, and
    that scan was nearly all of their minutes of tracing (measured with
    py-spy). Same answers, one hash lookup each."""

    def __init__(self) -> None:
        super().__init__()
        self._ops = set()
        self._first: Dict[tuple, int] = {}
        self._size = 0

    @staticmethod
    def _key(dep, idxs) -> tuple:
        return dep.target, dep.handler, tuple(idxs)

    def add_dep(self, dep, idxs) -> None:
        self._size += len(idxs)
        if self._size > MAX_GROUP_INDICES:
            raise GroupTooLargeError(
                f'its channel indices, mapped through reshapes, grew past '
                f'{MAX_GROUP_INDICES} (a reshape whose second dimension is '
                'not channels): not searched further')
        if len(self._group) >= MAX_GROUP_ENTRIES:
            raise GroupTooLargeError(
                f'its search reached {MAX_GROUP_ENTRIES} dependencies '
                'without converging (index mappings through splits and '
                'concatenations): not searched further')
        self._ops.add(self._key(dep, idxs))
        self._first.setdefault((dep.target, dep.handler), len(self._group))
        super().add_dep(dep, idxs)

    def has_pruning_op(self, dep, idxs) -> bool:
        return self._key(dep, idxs) in self._ops

    def add_and_merge(self, dep, idxs) -> None:
        i = self._first.get((dep.target, dep.handler))
        if i is None:
            self.add_dep(dep, idxs)
            return
        _dep, _idxs = self._group[i]
        seen, merged = set(), []
        for index in list(_idxs) + list(idxs):
            if index.idx not in seen:
                merged.append(index)
                seen.add(index.idx)
        self._group[i] = tp._helpers.GroupItem(dep=_dep, idxs=merged)
        self._ops.add(self._key(_dep, merged))


def _guarded_update_index_mapping(graph) -> None:
    """Torch-Pruning's ``update_index_mapping`` node by node: a node whose
    mapping fails keeps the default one, recorded in ``graph.unmapped``."""
    for node in list(graph.module2node.values()):
        update = _INDEX_MAPPINGS.get(node.type)
        if update is None:
            continue
        try:
            getattr(index_mapping, update)(graph, node)
        except Exception as e:  # noqa: BLE001 - recorded
            graph.unmapped[str(node.name)] = _error_text(e)


@contextlib.contextmanager
def _guarded_index_mapping() -> Iterator[None]:
    original = index_mapping.update_index_mapping
    index_mapping.update_index_mapping = _guarded_update_index_mapping
    try:
        yield
    finally:
        index_mapping.update_index_mapping = original


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
        self._holders: Optional[list] = None  # see _widths

    def build_dependency(self, *args, **kwargs):
        with _guarded_index_mapping():
            return super().build_dependency(*args, **kwargs)

    def _widths(self) -> tuple:
        # read from the modules that hold parameters, listed once: a walk of
        # model.parameters() for each of the thousands of group searches
        # of a sensitivity scan cost 0.3 s a trial on RTMDet-s
        if self._holders is None:
            self._holders = [
                m._parameters for m in self.model.modules() if m._parameters
            ]
        return tuple(
            tuple(p.shape) for params in self._holders
            for p in params.values() if p is not None)

    def get_pruning_group(self, module, pruning_fn, idxs) -> Group:
        # Torch-Pruning searches every whole-layer group three times before
        # pruning anything (counting channels in the pruner's constructor,
        # finding the task outputs, the step itself), and a search depends
        # only on the layer widths: reuse it while they are unchanged.
        key = (module, pruning_fn, tuple(idxs))
        widths = self._widths()
        if getattr(self, '_searched_widths', None) != widths:
            self._searched_widths, self._searched = widths, {}
        if key not in self._searched:
            group = self._search_group(module, pruning_fn, idxs)
            failure = self.failed.get(module) if len(group) == 0 else None
            self._searched[key] = (group, failure)
        group, failure = self._searched[key]
        if failure is not None:
            # a reused search that failed is recorded again: a graph reset
            # (see replay_graph) clears ``failed``
            self.failed.setdefault(module, failure)
        return group

    def _search_group(self, module, pruning_fn, idxs) -> Group:
        tp_graph.Group = IndexedGroup
        flatten_call = index_mapping._FlattenIndexMapping.__call__
        index_mapping._FlattenIndexMapping.__call__ = _flatten_indices
        try:
            # every search maps indices again: the mapping that failed in
            # the build must not fail every group (DINO's 109, all kept)
            with _guarded_index_mapping():
                return super().get_pruning_group(module, pruning_fn, idxs)
        except Exception as e:  # noqa: BLE001 - recorded, group skipped
            self.failed.setdefault(
                module, 'Torch-Pruning could not build '
                f'its group: {_error_text(e)}')
            group = Group()
            group._DG = self
            return group
        finally:
            tp_graph.Group = Group
            index_mapping._FlattenIndexMapping.__call__ = flatten_call

    def get_all_groups(self, *args, **kwargs) -> Iterator[Group]:
        for group in super().get_all_groups(*args, **kwargs):
            if len(group) > 0:
                yield group


class _Built:
    """Stands in for the graph class a pruner builds: hands it ``graph``,
    built already on the same model."""

    def __init__(self, graph: GuardedDependencyGraph) -> None:
        self.graph = graph

    def __call__(self) -> '_Built':
        return self

    def build_dependency(self, model: nn.Module, *args,
                         **kwargs) -> GuardedDependencyGraph:
        if model is not self.graph.model:
            raise ValueError('the graph given to the pruner was traced on '
                             'another model')
        return self.graph


@contextlib.contextmanager
def guarded_graphs(
        built: Optional[GuardedDependencyGraph] = None) -> Iterator[None]:
    """Torch-Pruning's pruners build their graph inside their constructor
    (no argument takes one): have them build a
    :class:`GuardedDependencyGraph` meanwhile, or take ``built``, traced
    already on the same model in its present state."""
    original = base_pruner.dependency.DependencyGraph
    base_pruner.dependency.DependencyGraph = \
        GuardedDependencyGraph if built is None else _Built(built)
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
