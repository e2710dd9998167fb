"""Never hand back a broken model: after pruning, the model must run its
loss (with backward), predict and tensor forward on the tracing batch. When
it does not, the groups that broke it are found by bisecting the pruning
history (replayed on the model restored to its unpruned state), rolled back
and reported; the rest stays pruned.

Torch-Pruning has no such check: a layer it does not see (it runs but feeds
no output, or is an op it reads as element-wise) leaves a group half
pruned with no error, and the forward fails only later.

The backward runs only where it can fail once the forward has run: the
loss's autograd graph holds a node that is not one of PyTorch's own
derivatives (a library's custom ``autograd.Function``, such as mmcv's
deformable convolution, or an op without a derivative). PyTorch's own are
computed for the shapes their forward ran with; a backward of those alone
would repeat the forward's verdict at about twice its cost.
"""
import copy
import gc
import re
import traceback
from typing import (Any, Callable, ContextManager, Hashable, Iterable, List,
                    Optional, Sequence, Tuple)

import torch
import torch.nn as nn

from ..model_family import bounded_structure_runs
from ..tp_backend.replay_graph import ReplayGraph
from ..tracing import (autograd_nodes, buffers_unchanged, choose_forward_fn,
                       forwards_replaced, loss_forward, tensor_forward)
from .pruning_history import HistoryReplayer


class NothingPrunableError(RuntimeError):
    """Every pruned group broke the model."""


#: at most this many suspected groups are tested before bisecting (more
#: say the error's layer is not where the breaking group is)
MAX_SUSPECTS = 3

#: what the model check runs, in order (a failure names its step)
CHECKS = ('loss', 'loss backward', 'predict', 'tensor forward')


class CheckFailure(str):
    """What :func:`run_error` says failed, and ``module``: the name of the
    model's innermost layer whose forward raised (None when the error came
    from outside every layer's forward)."""
    module: Optional[str] = None


def _raising_module(model: nn.Module, error: BaseException) -> Optional[str]:
    names = {id(m): name for name, m in model.named_modules()}
    found = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        owner = frame.f_locals.get('self')
        if isinstance(owner, nn.Module) and id(owner) in names:
            found = names[id(owner)]
    return found


#: PyTorch's own autograd nodes: generated derivatives
#: (``ConvolutionBackward0``) and the graph's plumbing; anything else may
#: fail in its backward alone
_OWN_NODE = re.compile(r'[A-Za-z_]\w*Backward\d+|AccumulateGrad|CopySlices')


def backward_can_fail(loss: torch.Tensor) -> bool:
    """Whether ``loss.backward()`` can fail where the forward that built
    ``loss`` ran: the loss has no graph, or its graph holds a node that is
    not one of PyTorch's own (a custom ``autograd.Function``: its
    ``backward`` is a library's code)."""
    # a custom Function's node class is made in torch.autograd.function
    return loss.grad_fn is None or any(
        type(node).__module__ != 'builtins'
        or not _OWN_NODE.fullmatch(type(node).__name__)
        for node in autograd_nodes([loss.grad_fn]))


def _call_key(value: Any, held: list) -> Hashable:
    """What identifies one argument of a call: a tensor by its identity and
    version (an in-place edit makes it another), a container by its items,
    anything else by its value where it has one, else its identity.
    ``held`` keeps each object alive, so that no identity is reused."""
    held.append(value)
    if isinstance(value, torch.Tensor):
        return ('tensor', id(value), value._version)
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_call_key(v, held) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((k, _call_key(v, held)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ('object', id(value))
    return (type(value), value)


def reused_outputs(modules: Iterable[nn.Module]) -> ContextManager:
    """Each of ``modules``, called again with the very same arguments (the
    same tensors, not edited since), gives back what it gave the first
    time instead of running again. For the checks in eval mode without
    gradients, where predict and the tensor forward call the backbone,
    neck and heads on the same batch (in mmdet's and mmseg's models
    ``predict`` runs the tensor forward's layers and then its
    post-processing): the second run's code still runs, on the first
    one's features (RetinaNet at 128 px: a tensor forward of 0.06 s)."""
    forwards = {}
    for module in modules:
        calls: dict = {}

        def forward(*args, _f=module.forward, _calls=calls, **kwargs):
            held: list = []
            key = _call_key((args, kwargs), held)
            if key not in _calls:
                _calls[key] = (_f(*args, **kwargs), held)
            return _calls[key][0]

        forwards[module] = forward
    return forwards_replaced(forwards)


def run_error(model: nn.Module,
              data: dict,
              checks: Sequence[str] = CHECKS) -> Optional[str]:
    """None when ``model`` runs its loss with backward, predict and tensor
    forward on ``data`` (those of :data:`CHECKS` in ``checks``; ``'loss
    backward'`` includes the loss); else which one failed and how, as a
    :class:`CheckFailure`. The backward runs where it can fail
    (:func:`backward_can_fail`). Gradients are cleared and BN statistics
    (and every other buffer) are left as they were."""
    was_training = model.training
    step = 'loss'
    backward = 'loss backward' in checks
    try:
        with buffers_unchanged(model), bounded_structure_runs(model):
            if backward or 'loss' in checks:
                model.train()
                with torch.set_grad_enabled(backward):
                    loss = loss_forward(model, data)
                if backward and backward_can_fail(loss):
                    step = 'loss backward'
                    loss.backward()
            model.eval()
            with torch.no_grad(), reused_outputs(model.children()):
                if 'predict' in checks:
                    step = 'predict'
                    model(
                        data['inputs'],
                        copy.deepcopy(data['data_samples']),
                        mode='predict')
                if 'tensor forward' in checks:
                    step = 'tensor forward'
                    tensor_forward(model, data)
        return None
    except Exception as e:  # noqa: BLE001 - the reason is the result
        lines = str(e).strip().splitlines()
        failure = CheckFailure(f'{step} failed: {type(e).__name__}: ' +
                               (lines[0][:300] if lines else ''))
        failure.module = _raising_module(model, e)
        return failure
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)


def search_checks(error: str) -> Tuple[str, ...]:
    """What a search for ``error`` needs to run: its failing step alone (a
    prefix that fails it breaks the model); nothing for a replay that
    failed (the replay is the test)."""
    step = error.split(' failed:', 1)[0]
    return (step, ) if step in CHECKS else ()


def snapshot_modules(modules: Iterable[nn.Module]) -> list:
    """What pruning changes in each module: its attributes, parameters and
    buffers. Torch-Pruning replaces tensors rather than editing them, so
    references are enough to restore the modules in place (a whole model:
    ``snapshot_modules(model.modules())``)."""
    return [(m, {
        k: v
        for k, v in m.__dict__.items()
        if k not in ('_parameters', '_buffers', '_modules')
    }, dict(m._parameters), dict(m._buffers)) for m in modules]


def restore_modules(snapshot: list) -> None:
    for m, attrs, params, buffers in snapshot:
        m.__dict__.update(attrs)
        m._parameters.clear()
        m._parameters.update(params)
        m._buffers.clear()
        m._buffers.update(buffers)


def remove_breaking_groups(
        model: nn.Module,
        data: dict,
        snapshot: list,
        history: List[list],
        error: str,
        forward_fn: Optional[Callable] = None,
        pruned_layers: Optional[Sequence[set]] = None,
        graph: Optional[ReplayGraph] = None) -> Tuple[List[list], List[dict]]:
    """``model`` (pruned by ``history``) fails with ``error``: find the
    groups whose pruning breaks it, one at a time, and drop every entry of
    each (later steps index into its earlier result). Each test restores
    the unpruned model and replays part of the history, all on one traced
    graph. The groups that pruned the layer the error came from are tried
    first: the whole history without one of them, checked in full; the
    group is to blame when that runs, or when that layer now runs and
    the error comes from another (groups that break one layer after
    another: each is found in one test). Failing
    that, the breaking group is the last entry of the shortest failing
    prefix, found by bisection. Returns the history that runs, which
    ``model`` is left pruned by, and the report entries of the groups
    rolled back. ``forward_fn``: the tracing forward the pruner chose on
    the unpruned model (chosen here when not given); ``pruned_layers[i]``:
    the layers entry ``i``'s group pruned, when the caller recorded them
    (else found by replaying the history); ``graph``: the pruner's graph,
    made replayable before it pruned (else one is traced here)."""
    removed: List[dict] = []
    restore_modules(snapshot)
    # every test traces the same unpruned architecture: the tracing forward
    # is chosen once (choosing it was a third of Conditional DETR's time)
    if forward_fn is None:
        forward_fn = choose_forward_fn(model, data)
    # and traced once: each test replays its prefix on that one graph
    replayer = HistoryReplayer(model, data, forward_fn, graph)
    recorded = (list(history), list(pruned_layers or []))
    # restoring and replaying edit the modules in place: the names hold
    modules = dict(model.named_modules())

    def replay_error(entries: List[list]) -> Optional[str]:
        # the last test's traces and losses sit in reference cycles that
        # hold their activations: collected before the next (DINO at 256
        # px peaked at 7.9 GB without, 5.1 GB with)
        gc.collect()
        restore_modules(snapshot)
        try:
            replayer.replay(entries)
        except Exception as e:  # noqa: BLE001 - a failing prefix
            return f'replaying the pruning failed: {type(e).__name__}: {e}'
        return None

    def rebuild(entries: List[list],
                checks: Sequence[str] = CHECKS) -> Optional[str]:
        return replay_error(entries) or run_error(model, data, checks)

    def rebuild_watching(entries: List[list],
                         layer: str) -> Tuple[Optional[str], bool]:
        """:func:`rebuild`, checked in full, and whether ``layer`` ran."""
        error = replay_error(entries)
        if error is not None:
            return error, False
        ran = []
        handle = modules[layer].register_forward_hook(
            lambda *args: ran.append(1))
        try:
            return run_error(model, data), bool(ran)
        finally:
            handle.remove()

    def layers_reached() -> Optional[List[set]]:
        if len(recorded[1]) == len(history) and recorded[0] == history:
            return recorded[1]
        if replayer.replayed != history:
            restore_modules(snapshot)
            try:
                replayer.replay(history)
            except Exception:  # noqa: BLE001 - the bisection will say
                return None
        return replayer.reached

    def suspects(error: str, lo: int) -> List[str]:
        # the groups that pruned the layer the error was raised in (or a
        # layer inside it), in history order: where a shape stops matching
        # is most often a layer its group pruned. One test without such a
        # group (which is also the final check) replaces the bisection's
        # log2 of the history's length, each a test of its own
        layer = getattr(error, 'module', None)
        if not layer:  # unknown, or the model itself
            return []
        reached = layers_reached()
        if reached is None:
            return []
        inside = set(modules[layer].modules())
        roots = dict.fromkeys(history[i][0] for i, layers in enumerate(reached)
                              if i >= lo and not layers.isdisjoint(inside))
        return list(roots) if len(roots) <= MAX_SUSPECTS else []

    # the longest prefix of ``history`` known to pass ``passed``; the empty
    # prefix (the unpruned model) is checked only when a search blames the
    # first entry
    runs, passed, base_checked = 0, (), False
    while error is not None:
        # a search runs only the check that failed (DINO: a loss forward of
        # 2 s instead of 8 s with backward, predict and tensor forward)
        checks = search_checks(error)
        if checks != passed:
            runs = 0
        root, rest, moved = None, None, None
        layer = getattr(error, 'module', None)
        for suspect in suspects(error, runs):
            without = [h for h in history if h[0] != suspect]
            e, ran = rebuild_watching(without, layer)
            if e is None:
                root, rest = suspect, without
                break
            if ran and getattr(e, 'module', None) != layer:
                # the failing layer runs without the group: it broke it,
                # and the search goes on from the new error (Mask2Former's
                # six encoder layers: 22 replays by bisection, 6 this way)
                root, rest, moved = suspect, without, e
                break
        if root is None:
            lo, hi = runs, len(history)  # prefix lo runs, prefix hi fails
            while hi - lo > 1:
                mid = (lo + hi) // 2
                e = rebuild(history[:mid], checks)
                if e is None:
                    lo = mid
                else:
                    hi, error = mid, e
            if hi == 1 and not base_checked:
                base = rebuild([])
                if base is not None:
                    raise NothingPrunableError(
                        'the unpruned model fails its own forward on the '
                        f'tracing batch ({base}): nothing was pruned')
                base_checked = True
            root = history[hi - 1][0]
            # the prefix that ran still runs without the group when none
            # of its entries were in it; the next search starts after it
            runs = lo if all(h[0] != root for h in history[:lo]) else 0
            passed = checks
        removed.append(
            dict(
                name=root,
                reason='pruning its group broke the model and was '
                f'rolled back ({error})'))
        history = [h for h in history if h[0] != root]
        # a suspect's test ran the full check on this very history
        error = moved if rest is not None else rebuild(history)
        if moved is not None:
            runs, passed = 0, ()
    if not history:
        raise NothingPrunableError(
            'nothing could be pruned safely: every pruned group broke the '
            'model (' + '; '.join(f'{r["name"]}: {r["reason"]}'
                                  for r in removed[:3]) + ')')
    return history, removed
