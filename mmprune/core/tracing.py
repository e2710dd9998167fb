"""Dependency graphs of whole OpenMMLab models, traced through the loss.

Tracing ``mode='tensor'`` misses every branch that only feeds a loss (the
RPN of a two-stage detector, for one: Torch-Pruning then shrinks the FPN and
leaves ``rpn_conv`` at its old width). Tracing the summed training loss of a
real batch reaches every layer that takes part in training.
"""
import contextlib
import copy
from typing import (Any, Callable, ContextManager, Dict, Iterable, Iterator,
                    List, Optional, Sequence, Tuple)

import torch
import torch.nn as nn
import torch_pruning as tp
from mmengine.logging import MMLogger

from .layer_pruners import custom_pruners, pruner_for
from .model_family import bounded_structure_runs
from .tp_backend import GuardedDependencyGraph
from .tp_backend.replay_graph import drop_activations


@contextlib.contextmanager
def runtime_info_defaults() -> Iterator[None]:
    """Outside a runner, mmengine's message hub holds no training progress,
    and heads that read it fail (TOOD picks its assigner by epoch:
    ``'<' not supported between 'NoneType' and 'int'``). Epoch and
    iteration 0 are set for the duration when missing."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    added = [k for k in ('epoch', 'iter') if hub.get_info(k) is None]
    for k in added:
        hub.update_info(k, 0)
    try:
        yield
    finally:
        for k in added:
            hub.runtime_info.pop(k, None)


def loss_forward(model: nn.Module, data: dict) -> torch.Tensor:
    """The summed training loss of an mmengine model on a preprocessed
    batch (``dict(inputs=..., data_samples=...)``)."""
    # some heads rewrite the ground truth in place (mmrotate's S2ANet and
    # R3Det turn box objects into tensors): each call gets its own copy
    samples = copy.deepcopy(data['data_samples'])
    with runtime_info_defaults():
        losses = model(data['inputs'], samples, mode='loss')
    loss, _ = model.parse_losses(losses)
    return loss


@contextlib.contextmanager
def buffers_unchanged(model: nn.Module) -> Iterator[None]:
    """Every buffer (BN statistics and the like) holds the same values
    afterwards as before, whatever forwards ran meanwhile."""
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, saved in buffers:
                # only what changed: a copy bumps a buffer's version, and
                # a buffer the loss saved for backward (ORConv2d's rotation
                # indices) would then fail the backward
                if b.shape == saved.shape and not torch.equal(b, saved):
                    b.copy_(saved)


def training_loss_forward(model: nn.Module, data: dict) -> torch.Tensor:
    """:func:`loss_forward` in train mode, for tracing: Torch-Pruning puts
    the model in eval mode before it traces, and some losses only exist in
    train mode (DETR-family heads build their denoising queries there:
    ``DINOHead.loss() missing 3 required positional arguments``). BN
    statistics and other buffers are left as they were."""
    was_training = model.training
    model.train()
    try:
        with buffers_unchanged(model):
            return loss_forward(model, data)
    finally:
        model.train(was_training)


def flatten_tensors(out) -> List[torch.Tensor]:
    """The tensors of a nested output (lists, tuples, dicts), in order;
    anything else (YOLACT's None outputs) is left out."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in flatten_tensors(item)]
    return []


def tensor_forward(model: nn.Module, data: dict) -> List[torch.Tensor]:
    """Every tensor a ``mode='tensor'`` forward returns, flattened."""
    return flatten_tensors(
        model(data['inputs'], data['data_samples'], mode='tensor'))


def autograd_nodes(
    roots: Iterable[Optional[Any]],
    follow: Callable[[Any], Iterable[Optional[Any]]] = lambda node: ()
) -> Iterator[Any]:
    """Each node of the autograd graph below ``roots`` (``grad_fn`` nodes;
    None is skipped) once, found by walking the graph rather than running a
    backward; ``follow(node)``: nodes to walk besides its inputs."""
    seen: set = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(follow(node))
        stack.extend(fn for fn, _ in node.next_functions)


def _used_parameters(model: nn.Module,
                     outputs: Sequence[torch.Tensor],
                     opaque: Optional[Dict[int, tuple]] = None) -> set:
    """ids of the parameters ``outputs`` depend on, among those that
    require grad (train() refreezes frozen stages: mmdet's ResNet): the
    leaves of their autograd graph, found by walking the graph rather than
    computing gradients (a backward pass, as long as the forward).
    ``opaque``: the nodes of :func:`opaque_layers` (their layer's
    parameters are not in the graph, and count as used when the node is
    reached)."""
    params = {id(p) for p in model.parameters() if p.requires_grad}
    # an output that is a parameter itself has no node of its own
    used = {id(t) for t in outputs if t.grad_fn is None and id(t) in params}
    opaque = opaque or {}

    def side_nodes(node) -> Iterable:
        return [t.grad_fn for t in opaque[id(node)][2]] \
            if id(node) in opaque else ()

    for node in autograd_nodes((t.grad_fn for t in outputs), side_nodes):
        leaf = getattr(node, 'variable', None)  # AccumulateGrad
        if leaf is not None and id(leaf) in params:
            used.add(id(leaf))
        if id(node) in opaque:
            _, layer, side = opaque[id(node)]
            used.update(id(p) for p in layer.parameters() if id(p) in params)
            used.update(id(t) for t in side if id(t) in params)
    return used


def _holders(model: nn.Module) -> List[nn.Module]:
    """The layers that hold parameters of their own."""
    return [
        m for m in model.modules()
        if next(m.parameters(recurse=False), None) is not None
    ]


@contextlib.contextmanager
def _layers_run(holders: Sequence[nn.Module]) -> Iterator[set]:
    """The ids of the ``holders`` that ran inside the block."""
    ran: set = set()
    handles = [
        m.register_forward_hook(lambda mod, args, out: ran.add(id(mod)))
        for m in holders
    ]
    try:
        yield ran
    finally:
        for h in handles:
            h.remove()


def _grad_outputs(outputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    return [t for t in outputs if t.is_floating_point() and t.requires_grad]


def _feeds(m: nn.Module, used: set) -> bool:
    return any(id(p) in used for p in m.parameters(recurse=False))


def _unreached(holders: Sequence[nn.Module], ran: set,
               used: set) -> List[nn.Module]:
    """The layers that neither ran nor had their parameters used."""
    return [m for m in holders if id(m) not in ran and not _feeds(m, used)]


def _idle(holders: Sequence[nn.Module], used: set) -> List[nn.Module]:
    """The layers that feed no tensor output."""
    return [m for m in holders if not _feeds(m, used)]


def _reach_verdict(
    judged: Sequence[nn.Module],
    ran: set,
    used: set,
    blind: frozenset = frozenset()
) -> Tuple[Optional[str], List[nn.Module]]:
    """What a tensor-mode run says of the forward to trace, from the layers
    judged, those that ran and the parameters the outputs reach: ``'loss'``
    when a layer neither ran nor fed an output; ``None`` (undecided) when
    a layer that did not feed one sits inside an opaque layer the tracer
    cannot see into (``blind``: ids); else ``'tensor'``, with the layers
    that ran but fed no output (the training loss decides those: see
    :func:`_idle_feed_loss`)."""
    unreached = _unreached(judged, ran, used)
    idle = _idle(judged, used)
    if any(id(m) in blind for m in unreached + idle):
        return None, []
    if unreached:
        return 'loss', []
    return 'tensor', idle


def tensor_mode_reaches_all_layers(model: nn.Module, data: dict) -> bool:
    """Whether the tensor-mode outputs depend on every parameter (true for
    most one-stage detectors, two-stage detectors and segmentors, whose
    heads all run in ``_forward``). Measured through autograd, not forward
    hooks: TOOD's task decomposition uses its reduction conv's weight in a
    batched matmul without calling the conv, and the hook test sent it to
    the training-loss trace, whose group search ran for over 5 minutes. A
    layer counts as reached when it runs or its parameters are used."""
    holders = _holders(model)
    was_training = model.training
    try:
        model.eval()
        with all_parameters_require_grad(model), _layers_run(holders) as ran:
            outputs = _grad_outputs(tensor_forward(model, data))
            if not outputs:
                return False
            used = _used_parameters(model, outputs)
    except Exception:  # noqa: BLE001 - then trace the training loss
        return False
    finally:
        model.train(was_training)
    verdict, idle = _reach_verdict(holders, ran, used)
    # A layer that runs but feeds no tensor output: S2ANet's first-stage
    # head only proposes the boxes its refine stage aligns to, and only
    # the loss reads its outputs; then the loss is traced. One that feeds
    # nothing at all (YOLOv3's MobileNetV2 last conv) counts as reached:
    # the model check rolls back what it breaks.
    return verdict == 'tensor' and not _idle_feed_loss(model, data, idle)


def _idle_feed_loss(model: nn.Module, data: dict,
                    idle: Sequence[nn.Module]) -> bool:
    if not idle:
        return False
    loss_used = _loss_used(model, data)
    return any(_feeds(m, loss_used) for m in idle)


def _loss_used(model: nn.Module, data: dict) -> set:
    """ids of the parameters the training loss depends on."""
    try:
        with all_parameters_require_grad(model):
            return _used_parameters(model,
                                    [training_loss_forward(model, data)])
    except Exception:  # noqa: BLE001 - the tensor trace stays
        return set()


def _needs_training_forward(model: nn.Module) -> bool:
    """Whether a layer pruner asks for the training forward."""
    return any(
        p.needs_training_forward
        for p in (pruner_for(m) for m in model.modules()) if p is not None)


def choose_forward_fn(model: nn.Module, data: dict) -> Callable:
    """:func:`tensor_forward` when it reaches every layer and no layer
    pruner asks for the training forward, else
    :func:`training_loss_forward`. The trial runs are bounded like every
    structure run (see :func:`bounded_structure_runs`)."""
    if _needs_training_forward(model):
        return training_loss_forward
    with bounded_structure_runs(model):
        if not tensor_mode_reaches_all_layers(model, data):
            return training_loss_forward
    return tensor_forward


def zero_non_finite_parameters(model: nn.Module) -> List[str]:
    """Set the non-finite values of ``model``'s parameters to 0 before a
    trace, with a warning naming them; returns their names. A model built
    from its config and not initialised holds whatever memory its
    uninitialised parameters got (DINO's ``level_embed`` is an empty
    tensor that only ``init_weights`` fills): NaN there reached mmdet's
    Hungarian matcher and failed DINO's traced loss in 4 runs of 10. The
    trace needs finite values only to run; such values carry nothing a
    checkpoint or ``init_weights`` would not overwrite."""
    with torch.no_grad():
        # a sum is finite only when every value is (or, rarely, overflows:
        # then each value is looked at): one pass with no mask, a tenth of
        # the time of isfinite().all() (0.05 s for RetinaNet R50, done
        # three times a prune)
        garbage = [
            n for n, p in model.named_parameters()
            if not bool(p.sum().isfinite()) and not torch.isfinite(p).all()
        ]
    if garbage:
        MMLogger.get_current_instance().warning(
            f'non-finite values in {", ".join(garbage[:5])}'
            f'{" ..." if len(garbage) > 5 else ""} (uninitialised?) are '
            'set to 0 to trace the model')
        with torch.no_grad():
            for n in garbage:
                p = model.get_parameter(n)
                p.copy_(torch.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0))
    return garbage


class _Opaque(torch.autograd.Function):
    """Runs a layer as one autograd node whose only input is the layer's
    input, so the tracer sees the layer and not its inside. Only used while
    tracing: the graph is never back-propagated."""

    @staticmethod
    def forward(ctx, forward, *tensors: torch.Tensor) -> torch.Tensor:
        return forward(*tensors)

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - never called
        raise RuntimeError('an opaque tracing node cannot be differentiated')


class OpaqueNodes:
    """What the layers of :func:`opaque_layers` left in the autograd graph:
    ``by_node`` maps the id of each call's node to ``(node, layer, side)``
    (the node kept, so that its id stays its own; ``side``: the tensors
    the call was given besides the node's inputs, such as a deformable
    convolution's offsets, which the layer's output depends on too),
    ``blind`` holds the layers whose output had no node (no input
    required grad)."""

    def __init__(self) -> None:
        self.by_node: Dict[int, tuple] = {}
        self.blind: List[nn.Module] = []

    def add(self, module: nn.Module, out: Any, side: list) -> None:
        first = out if isinstance(out, torch.Tensor) else \
            next((t for t in out if isinstance(t, torch.Tensor)), None)
        node = getattr(first, 'grad_fn', None)
        if node is None:
            self.blind.append(module)
        else:
            self.by_node[id(node)] = (node, module, side)


@contextlib.contextmanager
def forwards_replaced(forwards: Dict[nn.Module, Callable]) -> Iterator[None]:
    """Each module's ``forward`` replaced by the one given, for the
    duration; put back as it was, not set to the bound method read before
    (an instance attribute holding a module's own bound method is a
    reference cycle: a model dropped afterwards would wait for a full
    collection, its tensors with it)."""
    own = [(m, vars(m).get('forward')) for m in forwards]
    for module, forward in forwards.items():
        module.forward = forward
    try:
        yield
    finally:
        for module, forward in own:
            if forward is None:
                vars(module).pop('forward', None)
            else:
                module.forward = forward


def opaque_layers(model: nn.Module,
                  nodes: Optional[OpaqueNodes] = None) -> ContextManager:
    """Make every layer with a registered pruner opaque to the tracer: its
    tensor inputs (a tensor, or a tuple of them first) are the node's only
    inputs; everything else is passed through unchanged. ``nodes``
    records the calls' nodes."""
    forwards = {}
    for module in model.modules():
        if pruner_for(module) is None:
            continue

        def forward(first, *args, _f=module.forward, _m=module, **kwargs):
            # An autograd function returns a tensor or a tuple of them: a
            # layer's list (one map per FPN level) comes back as a tuple,
            # which is also what Torch-Pruning's hook maps to the layer.
            def run(*xs):
                out = _f(
                    xs[0] if isinstance(first, torch.Tensor) else
                    type(first)(xs), *args, **kwargs)
                return tuple(out) if isinstance(out, list) else out

            tensors = (first, ) if isinstance(first, torch.Tensor) else \
                tuple(first)
            out = _Opaque.apply(run, *tensors)
            if nodes is not None:
                nodes.add(_m, out, flatten_tensors([list(args), kwargs]))
            return out

        forwards[module] = forward
    return forwards_replaced(forwards)


@contextlib.contextmanager
def all_parameters_require_grad(model: nn.Module) -> Iterator[None]:
    """Torch-Pruning traces through autograd: a layer whose parameters do
    not require grad (an EMA copy, a layer frozen by hand) would be
    missing from the graph and its channels silently left out of their
    group. A stage the model freezes in its own ``train()`` (mmdet's
    ResNet ``frozen_stages``) is frozen again by the tracer's ``eval()``
    and stays out of the graph whole: its channels are kept."""
    frozen = [p for p in model.parameters() if not p.requires_grad]
    for p in frozen:
        p.requires_grad_(True)
    try:
        with torch.enable_grad():
            yield
    finally:
        for p in frozen:
            p.requires_grad_(False)


def build_dependency_graph(
        model: nn.Module,
        data: dict,
        ignored_layers: Optional[Sequence[nn.Module]] = None,
        forward_fn: Optional[Callable] = None) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model`` traced on ``data``
    through :func:`tensor_forward` when that reaches every layer and no
    layer pruner asks for the training forward, else through
    :func:`loss_forward` (RoI heads: see ``RoIExtractorPruner``). Tensor
    mode first because loss graphs can be huge: measured on RTMDet-tiny,
    its loss made Torch-Pruning's group search run for over 10 minutes;
    tensor mode takes 0.15 s. Leaves
    the model in eval mode (the tracer's choice: BN statistics are not
    touched). ``forward_fn``: the choice made already, when the caller
    traces the same architecture again (else see
    :func:`trace_dependency_graph`)."""
    if forward_fn is None:
        return trace_dependency_graph(model, data, ignored_layers)[0]
    zero_non_finite_parameters(model)
    return _traced(model, data, forward_fn, ignored_layers)


def _traced(model: nn.Module,
            data: dict,
            forward_fn: Callable,
            ignored_layers: Optional[Sequence[nn.Module]] = None,
            nodes: Optional[OpaqueNodes] = None) -> tp.DependencyGraph:
    with opaque_layers(model, nodes), all_parameters_require_grad(model), \
            bounded_structure_runs(model):
        return GuardedDependencyGraph().build_dependency(
            model,
            example_inputs=data,
            forward_fn=forward_fn,
            customized_pruners=custom_pruners(model),
            ignored_layers=list(ignored_layers or []),
            verbose=False)


def trace_dependency_graph(
    model: nn.Module,
    data: dict,
    ignored_layers: Optional[Sequence[nn.Module]] = None,
    timed: Callable[[Callable], Callable] = lambda fn: fn
) -> Tuple[tp.DependencyGraph, Callable]:
    """:func:`build_dependency_graph` with the tracing forward chosen on
    the trace itself, and that forward. The tensor-mode trace is also
    :func:`choose_forward_fn`'s reach test (the same verdict: which layers
    ran, which parameters the outputs reach through autograd, an opaque
    layer's through its node), so a model traced in tensor mode runs that
    forward once rather than twice (RetinaNet R50: 0.11 s of a 1 s
    prune). A model the test sends to the loss is traced again through
    it; one whose verdict needs the loss (a layer feeding no tensor
    output) or that the opaque nodes cannot settle is decided as
    :func:`choose_forward_fn` decides. ``timed`` wraps each forward the
    traces run (a prune times them apart from the graph's building)."""
    zero_non_finite_parameters(model)
    if _needs_training_forward(model):
        return _traced(model, data, timed(training_loss_forward),
                       ignored_layers), training_loss_forward
    holders = _holders(model)
    nodes = OpaqueNodes()
    # set when the tensor trace is not the one: the forward to trace
    # instead (None: undecided here)
    instead: Dict[str, Optional[Callable]] = {}

    def probe(model: nn.Module, data: dict) -> List[torch.Tensor]:
        try:
            with _layers_run(holders) as ran:
                traced = tensor_forward(model, data)
            outputs = _grad_outputs(traced)
        except Exception:  # noqa: BLE001 - then trace the training loss
            outputs = []
        if not outputs:
            instead['fn'] = training_loss_forward
            return []  # an empty trace, dropped below
        used = _used_parameters(model, outputs, nodes.by_node)
        # The tracer's model.eval() refreezes frozen stages (mmdet's
        # ResNet, frozen_stages=1) inside all_parameters_require_grad: the
        # graph, in either mode, leaves them out, so the verdict does too
        # when they ran (the reach test runs before eval() and sees them)
        frozen = {
            id(m)
            for m in holders if id(m) in ran and not any(
                p.requires_grad for p in m.parameters(recurse=False))
        }
        judged = [m for m in holders if id(m) not in frozen]
        verdict, idle = _reach_verdict(
            judged, ran, used,
            frozenset(id(m) for b in nodes.blind for m in b.modules()))
        if verdict is None:
            instead['fn'] = None
        elif verdict == 'loss':
            instead['fn'] = training_loss_forward
        elif idle:
            instead['idle'] = idle
        return [] if instead else traced

    graph = _traced(model, data, timed(probe), ignored_layers, nodes)
    nodes.by_node.clear()  # they hold the trace's activations
    if not instead:
        return graph, tensor_forward
    del graph
    if 'idle' in instead:
        with bounded_structure_runs(model):
            feed = timed(_idle_feed_loss)(model, data, instead['idle'])
        forward_fn = training_loss_forward if feed else tensor_forward
    else:
        forward_fn = instead['fn'] or timed(choose_forward_fn)(model, data)
    return _traced(model, data, timed(forward_fn), ignored_layers), forward_fn


def release_graph(graph: tp.DependencyGraph) -> None:
    """Drop the autograd nodes a dependency graph keeps from its trace,
    once it has pruned (the pruner's graph, before the model check runs):
    see :func:`~mmprune.core.tp_backend.replay_graph.drop_activations`."""
    drop_activations(graph)
