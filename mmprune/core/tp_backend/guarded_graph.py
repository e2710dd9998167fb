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
import operator
from typing import Dict, Iterator, List, Optional, Tuple

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

#: a doomed search (see IndexedGroup) runs on while its group stays within
#: twice its size at the doom plus these; past them it has run away
DOOMED_MORE_ENTRIES = 2_000
DOOMED_MORE_INDICES = 200_000


class GroupTooLargeError(RuntimeError):
    pass


class FoldedChannelsError(RuntimeError):
    """A reshape folded indices of different root channels into one."""


class IndexPastWidthError(RuntimeError):
    """A group's indices reached past the width of a layer."""


#: node types whose width Torch-Pruning's layer pruners report
_LAYER_TYPES = frozenset({
    ops.OPTYPE.CONV, ops.OPTYPE.DEPTHWISE_CONV, ops.OPTYPE.LINEAR,
    ops.OPTYPE.BN, ops.OPTYPE.LN, ops.OPTYPE.GN, ops.OPTYPE.IN,
    ops.OPTYPE.PRELU, ops.OPTYPE.EMBED
})

#: an index's place in the layer it is at (a map with it runs in C: the
#: width test reads every index of every dependency a search adds)
_IDX = operator.attrgetter('idx')

#: what Torch-Pruning's index mappings and pruning functions write on its
#: operation nodes (concatenation and split sizes, offsets, slice bounds)
_OPERATION_FIELDS = ('concat_sizes', 'split_sizes', 'offsets', 'start', 'end',
                     'step')

#: the group the running search builds (searches run one at a time): the
#: index mappings report a fold to it
_searching: List['IndexedGroup'] = []


def _flatten_indices(self, idxs):
    """Torch-Pruning's ``_FlattenIndexMapping.__call__`` with the same
    result, its namedtuples built in C: a flatten multiplies a group's
    indices by its stride, and building them one Python call at a time was
    most of the time TOOD's task-decomposition reshapes took to trace."""
    make = functools.partial(tuple.__new__, tp._helpers._HybridIndex)
    stride = self._stride
    if self.reverse:
        folded = set(map(make, ((i.idx // stride, i.root_idx) for i in idxs)))
        error = _folded_roots(folded, stride)
        if error is not None and _searching:
            _searching[-1].doom(error)
        return list(folded)
    out = []
    for i in idxs:
        out.extend(
            map(
                make,
                zip(
                    range(i.idx * stride, (i.idx + 1) * stride),
                    itertools.repeat(i.root_idx))))
    return out


def _folded_roots(idxs, stride: int) -> Optional[FoldedChannelsError]:
    """Each index of a group stands for one channel of its root layer. A
    reshape folding the channels of several roots into one index is not
    over channels (ANN's and TOOD's spatial views, ResNeSt's radix view):
    Torch-Pruning pairs every index with every root, flattens and folds
    again, and grew such groups to millions of indices before the size
    bound stopped them (18 of ANN's 19 s)."""
    roots = {}
    for i in idxs:
        if i.root_idx is not None and roots.setdefault(
                i.idx, i.root_idx) != i.root_idx:
            return FoldedChannelsError(
                f'a reshape of stride {stride} folds channels of different '
                f'root channels ({roots[i.idx]} and {i.root_idx}) into one '
                '(its second dimension is not channels)')
    return None


class IndexedGroup(Group):
    """Torch-Pruning's group with its two lookups hashed. Its search asks
    ``has_pruning_op`` for every dependency it reaches, and the stock
    answer scans the whole group comparing index lists: quadratic in the
    group's size times its width. Heads shared over five FPN levels
    (YOLACT, TOOD, Double Heads) make groups of thousands of entries, and
    that scan was nearly all of their minutes of tracing (measured with
    py-spy). Here the group keeps the indices it holds at each layer in a
    set (see :meth:`has_pruning_op`).

    A search is ``doomed`` when it finds that its group cannot be pruned:
    indices past the width of a layer they reach (:meth:`_past_width`), or
    a reshape folding several root channels into one index
    (:func:`_folded_roots`). Torch-Pruning's importance fails on such a
    group and the group is kept, but only once the search has ended,
    which for some took millions of indices. A doomed search goes on only
    as long as its group stays within twice its size at the doom (plus
    :data:`DOOMED_MORE_ENTRIES` and :data:`DOOMED_MORE_INDICES`): one that
    ends there is kept with every layer it holds, as Torch-Pruning's would
    be; past that it has run away and stops, as Torch-Pruning's would at
    the size bounds, much later."""

    def __init__(self, graph: Optional[tp.DependencyGraph] = None) -> None:
        super().__init__()
        # (target, handler) -> (position of its first item, the indices
        # the group holds there)
        self._held: Dict[tuple, Tuple[int, set]] = {}
        self._size = 0
        self._graph = graph
        self.doomed: Optional[Exception] = None
        self._bound = (MAX_GROUP_ENTRIES, MAX_GROUP_INDICES)

    def doom(self, error: Exception) -> None:
        if self.doomed is None:
            self.doomed = error
            self._bound = (2 * len(self._group) + DOOMED_MORE_ENTRIES,
                           2 * self._size + DOOMED_MORE_INDICES)

    def _past_width(self, dep, idxs) -> Optional[IndexPastWidthError]:
        """Torch-Pruning's importance fails on an index past a layer's
        width (``IndexError``), and its pruning functions ignore it: the
        index mapping through that path is wrong. Deformable DETR's
        reference-point splits and concatenations shift indices on every
        lap and fed such searches 50,000 dependencies each (9 of its 18 s);
        every one of them reached a layer past its width."""
        node = dep.target
        if self._graph is None or node.type not in _LAYER_TYPES:
            return None
        graph = self._graph
        if graph.is_out_channel_pruning_fn(dep.handler):
            width = graph.get_out_channels(node)
        elif graph.is_in_channel_pruning_fn(dep.handler):
            width = graph.get_in_channels(node)
        else:
            return None
        last = max(map(_IDX, idxs), default=-1)
        if width is None or last < width:
            return None
        name = graph._module2name.get(node.module, node.name)
        return IndexPastWidthError(
            f'its indices reach channel {last} of {name}, which has '
            f'{width} (index mappings through splits, concatenations or '
            'reshapes that are not over channels)')

    def add_dep(self, dep, idxs) -> None:
        self._size += len(idxs)
        if self.doomed is not None and (len(self._group) >= self._bound[0]
                                        or self._size > self._bound[1]):
            raise self.doomed
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
        if self.doomed is None:
            error = self._past_width(dep, idxs)
            if error is not None:
                self.doom(error)
        held = self._held.get((dep.target, dep.handler))
        if held is None:
            self._held[(dep.target, dep.handler)] = (len(self._group),
                                                     set(idxs))
        else:
            held[1].update(idxs)
        super().add_dep(dep, idxs)

    def has_pruning_op(self, dep, idxs) -> bool:
        # Torch-Pruning searches on from a dependency unless the group
        # holds it with the same index list. Every index mapping maps each
        # index on its own, so indices the group already holds at that
        # layer (in any order, in any of its lists) lead nowhere new: a
        # search through splits and concatenations that kept producing new
        # subsets of the same indices ran past 50,000 dependencies
        # (Mask2Former's pixel decoder: 16 of its 28 s), and reverse
        # flattens hand their indices back in another order (ResNeSt: 25
        # of its 27 s). The group found is the same
        held = self._held.get((dep.target, dep.handler))
        return held is not None and held[1].issuperset(idxs)

    def add_and_merge(self, dep, idxs) -> None:
        held = self._held.get((dep.target, dep.handler))
        if held is None:
            self.add_dep(dep, idxs)
            return
        i, indices = held
        _dep, _idxs = self._group[i]
        seen, merged = set(), []
        for index in list(_idxs) + list(idxs):
            if index.idx not in seen:
                merged.append(index)
                seen.add(index.idx)
        self._group[i] = tp._helpers.GroupItem(dep=_dep, idxs=merged)
        indices.update(merged)


def _guarded_update_index_mapping(graph) -> None:
    """Torch-Pruning's ``update_index_mapping`` node by node: a node whose
    mapping fails keeps the default one, recorded in ``graph.unmapped``.
    On a :class:`GuardedDependencyGraph` its result is remembered for each
    state of the model (see :class:`_MappingMemo`)."""
    memo = getattr(graph, 'mapping_memo', None)
    if memo is not None and memo.restore():
        return
    _update_index_mapping(graph)
    if memo is not None:
        memo.record()


def _update_index_mapping(graph) -> None:
    # Torch-Pruning's patched update can also be handed a plain graph
    fixed = graph.pruners_fixed() if isinstance(
        graph, GuardedDependencyGraph) else contextlib.nullcontext()
    with fixed:
        for node in list(graph.module2node.values()):
            update = _INDEX_MAPPINGS.get(node.type)
            if update is None:
                continue
            try:
                getattr(index_mapping, update)(graph, node)
            except Exception as e:  # noqa: BLE001 - recorded
                graph.unmapped[str(node.name)] = _error_text(e)


class _MappingMemo:
    """Torch-Pruning maps indices again before every group search,
    inferring each concatenation's and reshape's channels through the
    whole graph (34 of DDQ-DETR's 88 s under cProfile). What it writes
    (the index mappings of the dependencies at those operations, and the
    sizes and offsets on the operations) depends only on the layer widths
    and the operations' sizes, which repeat: every search of one pruning
    step, and every prefix the model check's roll-back search replays,
    starts from a state seen before."""

    #: states remembered at most (a state holds references, not copies)
    MAX_STATES = 512

    def __init__(self, graph: 'GuardedDependencyGraph') -> None:
        self.graph = graph
        nodes = [
            n for n in graph.module2node.values() if n.type in _INDEX_MAPPINGS
        ]
        mapped = set(nodes)
        # what Torch-Pruning's pruning functions and index mappings edit
        # on an operation (the rest of it is fixed at the trace)
        self._fields = [(n.module, name) for n in nodes
                        for name in _OPERATION_FIELDS
                        if hasattr(n.module, name)]
        self._deps = [
            dep for n in graph.module2node.values() for dep in n.dependencies
            if dep.source in mapped or dep.target in mapped
        ]
        self._states: Dict[tuple, tuple] = {}

    def _fields_state(self) -> tuple:
        return tuple(
            tuple(v) if isinstance(v, list) else v
            for v in (getattr(op, name) for op, name in self._fields))

    def restore(self) -> bool:
        # the widths the search this mapping is for has just read
        widths = self.graph.searched_widths
        self._pending = (widths or self.graph._widths(), self._fields_state())
        state = self._states.get(self._pending)
        if state is None:
            return False
        mappings, fields, unmapped = state
        self.graph.unmapped.update(unmapped)
        for dep, mapping in zip(self._deps, mappings):
            dep.index_mapping[:] = mapping
        for (op, name), value in zip(self._fields, fields):
            setattr(op, name,
                    list(value) if isinstance(value, tuple) else value)
        return True

    def record(self) -> None:
        if len(self._states) >= self.MAX_STATES:
            self._states.clear()
        self._states[self._pending] = (tuple(
            tuple(dep.index_mapping)
            for dep in self._deps), self._fields_state(),
                                       dict(self.graph.unmapped))


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
    group search, and never yields an empty group or a doomed one (see
    :class:`IndexedGroup`). A concatenation or
    split whose index mapping fails (DETR's positional encodings) keeps
    Torch-Pruning's default mapping, recorded in ``unmapped``: a group that
    then prunes wrongly is caught by the model check and rolled back."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: Dict[nn.Module, str] = {}
        self.unmapped: Dict[str, str] = {}
        self._holders: Optional[list] = None  # see _widths
        self._widths_seen: Optional[Tuple[list, tuple]] = None
        self.mapping_memo: Optional[_MappingMemo] = None
        # see get_pruner_of_module
        self._pruners_while_mapping: Optional[dict] = None
        # the layer widths the group searches in ``_searched`` were made
        # at (see get_pruning_group)
        self.searched_widths: Optional[tuple] = None
        self._searched: dict = {}

    def build_dependency(self, *args, **kwargs):
        with _guarded_index_mapping():
            super().build_dependency(*args, **kwargs)
        self.mapping_memo = _MappingMemo(self)
        return self

    def _widths(self) -> tuple:
        # read from the modules that hold parameters, listed once: a walk of
        # model.parameters() for each of the thousands of group searches
        # of a sensitivity scan cost 0.3 s a trial on RTMDet-s
        if self._holders is None:
            self._holders = [
                m._parameters for m in self.model.modules() if m._parameters
            ]
        params = [p for held in self._holders for p in held.values()]
        # most searches see the parameters the one before saw (a pruner
        # counting its groups; a search asked again for the group it has
        # just found): pruning and restoring swap parameter objects, never
        # resize one in place, so the same objects have the same shapes
        # (the list holds them: an id is not reused meanwhile)
        last = self._widths_seen
        if last is not None and len(last[0]) == len(params) and all(
                map(operator.is_, params, last[0])):
            return last[1]
        # one flat tuple of ints (each shape after its length), not a tuple
        # per parameter: the mapping memo keeps one per state, and
        # EfficientNet-B3's 61 states were 27k tuples kept to the end of
        # its prune (a third of its young garbage collections)
        widths: List[int] = []
        for p in params:
            if p is not None:
                shape = p.shape
                widths.append(len(shape))
                widths.extend(shape)
        self._widths_seen = (params, tuple(widths))
        return self._widths_seen[1]

    @contextlib.contextmanager
    def pruners_fixed(self) -> Iterator[None]:
        """Inside the block, each layer's pruner is looked up once (see
        :meth:`get_pruner_of_module`)."""
        self._pruners_while_mapping = {}
        try:
            yield
        finally:
            self._pruners_while_mapping = None

    def get_pruner_of_module(self, module: nn.Module):
        # Torch-Pruning's channel inference through concatenations asks it
        # for every node it walks, each time classifying the layer anew
        # (635k asks, a tenth of DDQ-DETR's prune). No layer changes while
        # the index mappings are updated: the answers are kept meanwhile.
        known = self._pruners_while_mapping
        if known is None:
            return super().get_pruner_of_module(module)
        if module not in known:
            known[module] = super().get_pruner_of_module(module)
        return known[module]

    def get_pruning_group(self, module, pruning_fn, idxs) -> Group:
        # Torch-Pruning searches every whole-layer group three times before
        # pruning anything (counting channels in the pruner's constructor,
        # finding the task outputs, the step itself), and a search depends
        # only on the layer widths: reuse it while they are unchanged.
        key = (module, pruning_fn, tuple(idxs))
        widths = self._widths()
        if self.searched_widths != widths:
            self.searched_widths, self._searched = widths, {}
        if key not in self._searched:
            group = self._search_group(module, pruning_fn, idxs)
            failure = self.failed.get(module) if (
                len(group) == 0 or getattr(group, 'doomed', None)) else None
            self._searched[key] = (group, failure)
        group, failure = self._searched[key]
        if failure is not None:
            # a reused search that failed is recorded again: a graph reset
            # (see replay_graph) clears ``failed``
            self.failed.setdefault(module, failure)
        return group

    def _search_group(self, module, pruning_fn, idxs) -> Group:
        """The group; empty when its search failed or ran away, and marked
        ``doomed`` when the search ended knowing the group cannot be pruned
        (see :class:`IndexedGroup`). Such a group is kept, and the layers
        it holds count as searched, as Torch-Pruning's group would once its
        importance failed; searched alone, those layers give groups through
        the same wrong mappings, which break the model and are rolled back
        one by one (KNet's kernel update heads)."""
        search = IndexedGroup(self)
        made = []

        def new_group() -> IndexedGroup:
            # the search's group first, then Torch-Pruning's merged one
            made.append(search if not made else IndexedGroup())
            return made[-1]

        tp_graph.Group = new_group
        flatten_call = index_mapping._FlattenIndexMapping.__call__
        index_mapping._FlattenIndexMapping.__call__ = _flatten_indices
        _searching.append(search)
        try:
            # every search maps indices again: the mapping that failed in
            # the build must not fail every group (DINO's 109, all kept)
            with _guarded_index_mapping():
                group = super().get_pruning_group(module, pruning_fn, idxs)
            if search.doomed is not None:
                group.doomed = search.doomed
                self._fail(module, search.doomed)
            return group
        except Exception as e:  # noqa: BLE001 - recorded, group skipped
            self._fail(module, e)
            group = Group()
            group._DG = self
            return group
        finally:
            _searching.pop()
            tp_graph.Group = Group
            index_mapping._FlattenIndexMapping.__call__ = flatten_call

    def _fail(self, module: nn.Module, error: BaseException) -> None:
        self.failed.setdefault(
            module, f'Torch-Pruning could not build its group: '
            f'{_error_text(error)}')

    def get_all_groups(self, *args, **kwargs) -> Iterator[Group]:
        for group in super().get_all_groups(*args, **kwargs):
            if len(group) > 0 and getattr(group, 'doomed', None) is None:
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
