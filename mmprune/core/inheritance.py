"""Weight inheritance: fill a slimmer model with the most important channels
of a wider trained one.

Within every group of coupled channels (a conv's outputs, its norm, the next
layers' inputs, residual adds and layer scales, depthwise convs, the FC
after the RoI flattening ...), found by Torch-Pruning's dependency graph on
the *source* model, the same channels are kept everywhere: the ``k`` most
important ones, ``k`` being that group's width in the target. The source is
narrowed with Torch-Pruning's own layer pruners, then copied tensor by
tensor, so no tensor is ever a leading slice and none is re-initialised
without saying why.
"""
import copy
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from .concat_branches import branch_producers
from .criteria import Criterion, build_criterion, criteria_with
from .layer_pruners import member_channels, prune_member, pruner_for
from .tracing import build_dependency_graph


class ArchitectureMismatchError(ValueError):
    """The source cannot be narrowed into the target (another
    architecture)."""


@dataclass
class TensorRecord:
    name: str
    status: str  # 'inherited' | 'narrowed' | 'fresh'
    source_shape: Optional[List[int]]
    target_shape: List[int]
    detail: str = ''


@dataclass
class InheritanceReport:
    importance: str
    tensors: List[TensorRecord] = field(default_factory=list)
    groups: List[dict] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tensors)

    def summary(self) -> str:
        lines = [
            f'weight inheritance ({self.importance}): '
            f'{self.count("inherited")} tensors inherited whole, '
            f'{self.count("narrowed")} narrowed, '
            f'{self.count("fresh")} initialised fresh; '
            f'{len(self.groups)} channel groups narrowed'
        ]
        for g in self.groups:
            lines.append(f'  group {g["root"]}: kept {g["kept"]}/{g["total"]}'
                         f' channels over {len(g["layers"])} layers')
        for t in self.tensors:
            if t.status == 'fresh':
                lines.append(f'  fresh {t.name} {t.target_shape}: {t.detail}')
        return '\n'.join(lines)

    def to_dict(self) -> dict:
        return dict(
            importance=self.importance,
            counts={
                s: self.count(s)
                for s in ('inherited', 'narrowed', 'fresh')
            },
            groups=self.groups,
            tensors=[asdict(t) for t in self.tensors])


def _owned_tensors(module: nn.Module) -> Dict[str, torch.Tensor]:
    return dict(module.named_parameters(recurse=False)) | dict(
        module.named_buffers(recurse=False))


def check_same_architecture(source: nn.Module, target: nn.Module) -> None:
    """Every target module that holds tensors must exist in the source
    under the same name and class; raise naming the first that does not."""
    source_modules = dict(source.named_modules())
    for name, module in target.named_modules():
        if not _owned_tensors(module):
            continue
        other = source_modules.get(name)
        if other is None:
            raise ArchitectureMismatchError(
                f'weight inheritance: target module "{name}" '
                f'({type(module).__name__}) does not exist in the source '
                'model: the checkpoint is of another architecture')
        both_bn = isinstance(other, _BatchNorm) and isinstance(
            module, _BatchNorm)  # BN and SyncBN hold the same tensors
        if type(other) is not type(module) and not both_bn:
            raise ArchitectureMismatchError(
                f'weight inheritance: module "{name}" is a '
                f'{type(module).__name__} in the target but a '
                f'{type(other).__name__} in the source')


def load_source_state(source: nn.Module, state_dict: dict) -> None:
    """Load the checkpoint into the source model, strictly; a mismatch is
    an error that names the first module that does not fit."""
    own = source.state_dict()
    for key, value in state_dict.items():
        if key not in own:
            raise ArchitectureMismatchError(
                f'weight inheritance: checkpoint tensor "{key}" has no place '
                f'in the source model (module "{key.rsplit(".", 1)[0]}" '
                'does not exist): the checkpoint is of another architecture')
        if own[key].shape != value.shape:
            raise ArchitectureMismatchError(
                f'weight inheritance: checkpoint tensor "{key}" has shape '
                f'{list(value.shape)}, the source model expects '
                f'{list(own[key].shape)} (module '
                f'"{key.rsplit(".", 1)[0]}"): the source config does not '
                'describe this checkpoint')
    missing = [k for k in own if k not in state_dict]
    if missing:
        raise ArchitectureMismatchError(
            f'weight inheritance: the checkpoint has no "{missing[0]}" '
            f'(and {len(missing) - 1} more tensors) that the source model '
            'needs: the checkpoint is of another architecture')
    source.load_state_dict(state_dict, strict=True)


def _channels(graph, module: nn.Module, out: bool) -> int:
    pruner = graph.get_pruner_of_module(module)
    return pruner.get_out_channels(module) if out else \
        pruner.get_in_channels(module)


def _kept_channels(graph, group, names, target_modules, scores, total: int,
                   kept_n: int) -> List[int]:
    """The most important ``kept_n`` of a group's ``total`` channels. When
    the group spans several producers joined by a concat (a CSP block's
    main and short branch, both read by a channel attention), each branch
    keeps its own target width, chosen by importance within the branch;
    one global top-k would split the kept channels unevenly."""
    segments: Dict[Tuple[int, ...], int] = {}
    for roots, producers in branch_producers(graph, group).items():
        widths = {
            _channels(graph, target_modules[names[m]], out=True)
            for m in producers if names.get(m) in target_modules
        }
        if len(widths) > 1:
            segments = {}  # the branch's layers disagree: no split
            break
        if widths:
            segments[roots] = widths.pop()
    covered = sorted(i for roots in segments for i in roots)
    if segments and covered == list(range(total)) and \
            sum(segments.values()) == kept_n:
        kept = []
        for roots, n in segments.items():
            seg = torch.tensor(roots)
            order = torch.argsort(scores[seg], descending=True)[:n]
            kept += seg[order].tolist()
        return sorted(kept)
    return sorted(torch.argsort(scores, descending=True)[:kept_n].tolist())


def weight_criterion(importance: Union[str, dict, Criterion]) -> Criterion:
    """The criterion for weight inheritance: it must rank channels from
    the trained weights alone (no gradients, no chance)."""
    criterion = build_criterion(importance, 'channel')
    if not criterion.ranks_from_weights:
        raise ValueError(
            f'importance {criterion.short_name!r} does not rank channels '
            f'from the weights alone; weight inheritance takes one of '
            f'{", ".join(weight_criteria())}')
    return criterion


def weight_criteria() -> List[str]:
    """Short names of the criteria weight inheritance takes."""
    return [
        n for n in criteria_with('channel')
        if build_criterion(n).ranks_from_weights
    ]


def _fresh_for_missing_producer(group, names, target_modules,
                                root_name: str) -> Dict[str, str]:
    """The producer of a group's channels is gone in the target (e.g. a
    single-FC head keeps fc1 only): what its consumers read has no
    source."""
    root_fn = group[0].dep.handler
    reasons = {}
    for d in group:
        name = names.get(d.dep.target.module)
        if name in target_modules and d.dep.handler is not root_fn:
            for t in _owned_tensors(target_modules[name]):
                reasons[f'{name}.{t}'] = (
                    f'its input channels came from "{root_name}", '
                    'which the target does not have')
    return reasons


def _plan_groups(graph, source: nn.Module, target_modules: Dict[str,
                                                                nn.Module],
                 scorers: Tuple[Callable, Callable], report: InheritanceReport,
                 fresh_reasons: Dict[str, str]) -> List[tuple]:
    """``(root, pruning function, removed channels)`` of every group the
    target narrows, its kept channels decided on the unpruned source (the
    first scorer, the second where it has no score)."""
    # Torch-Pruning's node names carry the module repr: use our own
    names = {m: n for n, m in source.named_modules()}
    plans = []
    for group in graph.get_all_groups():
        root = group[0].dep.target.module
        root_name = names[root]
        total = _channels(graph, root, out=True)
        layers = sorted({
            names[d.dep.target.module]
            for d in group if d.dep.target.module in names
        })
        tgt_root = target_modules.get(root_name)
        if tgt_root is None:
            fresh_reasons.update(
                _fresh_for_missing_producer(group, names, target_modules,
                                            root_name))
            continue
        kept_n = _channels(graph, tgt_root, out=True)
        if kept_n == total:
            continue
        if kept_n > total:
            for name in layers:
                if name in target_modules:
                    for t in _owned_tensors(target_modules[name]):
                        fresh_reasons.setdefault(
                            f'{name}.{t}',
                            f'the target widens "{root_name}" from {total} '
                            f'to {kept_n} channels')
            continue
        scores = scorers[0](group)
        if scores is None:
            scores = scorers[1](group)
        kept = _kept_channels(graph, group, names, target_modules, scores,
                              total, kept_n)
        plans.append((root, group[0].dep.handler,
                      sorted(set(range(total)) - set(kept))))
        report.groups.append(
            dict(
                root=root_name,
                kept=kept_n,
                total=total,
                layers=layers,
                kept_channels=kept))
    return plans


def _plan_internal_groups(source: nn.Module, target_modules: Dict[str,
                                                                  nn.Module],
                          criterion: Criterion,
                          report: InheritanceReport) -> List[tuple]:
    """``(module, internal group, removed channels)`` of the internal
    groups of opaque layers (e.g. the LSK split) the target narrows."""
    plans = []
    for name, module in source.named_modules():
        pruner = pruner_for(module)
        if pruner is None:
            continue
        for igroup in pruner.internal_groups(module):
            total = member_channels(module, igroup.members[0])
            kept_n = member_channels(target_modules[name], igroup.members[0])
            if kept_n >= total:
                continue
            scores = criterion.member_scores(module, igroup.members)
            kept = sorted(
                torch.argsort(scores, descending=True)[:kept_n].tolist())
            plans.append(
                (module, igroup, sorted(set(range(total)) - set(kept))))
            report.groups.append(
                dict(
                    root=f'{name}.{igroup.name}',
                    kept=kept_n,
                    total=total,
                    layers=[f'{name}.{m}' for m, _ in igroup.members],
                    kept_channels=kept))
    return plans


def _copy_into(target: nn.Module, narrowed: dict,
               original_shapes: Dict[str, list], fresh_reasons: Dict[str, str],
               report: InheritanceReport) -> None:
    """Copy the narrowed source into ``target``, recording what happened
    to every target tensor."""
    with torch.no_grad():
        for key, tensor in target.state_dict().items():
            src_shape = original_shapes.get(key)
            value = narrowed.get(key)
            tgt_shape = list(tensor.shape)
            if value is not None and list(value.shape) == tgt_shape:
                tensor.copy_(value)
                if src_shape == tgt_shape:
                    report.tensors.append(
                        TensorRecord(key, 'inherited', src_shape, tgt_shape))
                else:
                    dims = ', '.join(
                        f'dim {i}: kept {t}/{s}'
                        for i, (s, t) in enumerate(zip(src_shape, tgt_shape))
                        if s != t)
                    report.tensors.append(
                        TensorRecord(key, 'narrowed', src_shape, tgt_shape,
                                     dims))
                continue
            reason = fresh_reasons.get(key) or (
                f'no narrowing of coupled source channels gives this shape '
                f'(source {src_shape}, after narrowing '
                f'{list(value.shape) if value is not None else None})')
            report.tensors.append(
                TensorRecord(key, 'fresh', src_shape, tgt_shape, reason))


def inherit_weights(
        source: nn.Module,
        source_state: dict,
        target: nn.Module,
        data: dict,
        importance: Union[str, dict, Criterion] = 'l1') -> InheritanceReport:
    """Copy the most important channels of ``source`` (loaded from
    ``source_state``) into ``target`` in place.

    Args:
        source: a model built from the wider config (its weights are
            replaced by ``source_state``).
        source_state: the trained wider model's state dict.
        target: the slimmer model; every tensor it shares with the source is
            overwritten, the others keep their initialisation.
        data: one preprocessed training batch, to trace the source through
            its loss.
        importance: a criterion that ranks channels from the weights alone
            (``l1``, the default, ``l2``, ``lamp``, ``bn_scale``; see
            ``mmprune.core.criteria``).
    """
    criterion = weight_criterion(importance)
    # bn_scale ranks only groups that hold a BatchNorm (and internal
    # groups have no BatchNorm): those are ranked by L1
    fallback = build_criterion('l1')
    member_criterion = criterion if criterion.short_name in \
        criteria_with('internal-group') else fallback
    check_same_architecture(source, target)
    # trace with the source's own weights loaded: the graph does not depend
    # on them, the importances do
    load_source_state(source, source_state)
    source = copy.deepcopy(source)
    graph = build_dependency_graph(source, data)
    target_modules = dict(target.named_modules())
    report = InheritanceReport(importance=criterion.short_name)
    fresh_reasons: Dict[str, str] = {}

    # 1) decide every group's kept channels on the unpruned source
    plans = _plan_groups(
        graph, source, target_modules,
        (criterion.channel_importance(), fallback.channel_importance()),
        report, fresh_reasons)
    internal_plans = _plan_internal_groups(source, target_modules,
                                           member_criterion, report)
    # 2) narrow the source with Torch-Pruning's layer pruners
    original_shapes = {
        k: list(v.shape)
        for k, v in source.state_dict().items()
    }
    for module, fn, removed in plans:
        graph.get_pruning_group(module, fn, idxs=removed).prune()
    for module, igroup, removed in internal_plans:
        for member in igroup.members:
            prune_member(module, member, removed)
    # 3) copy, recording what happened to every target tensor
    _copy_into(target, source.state_dict(), original_shapes, fresh_reasons,
               report)
    return report
