"""The uniform stepping loop of a structured prune: Torch-Pruning's pruner
over mmprune's tracing, stepped until the ratio, FLOPs or latency target
is met; groups that fail or break the model rolled back and reported."""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
import torch_pruning as tp
from mmengine.logging import print_log

from ..layer_pruners import custom_pruners
from ..model_family import bounded_structure_runs
from ..module_patterns import matching_modules
from ..tp_backend import SegmentAwarePruner, guarded_graphs
from ..tp_backend.replay_graph import ReplayGraph, group_layers
from ..tracing import (all_parameters_require_grad, build_dependency_graph,
                       choose_forward_fn, loss_forward, opaque_layers,
                       release_graph, trace_dependency_graph,
                       zero_non_finite_parameters)
from .layers import (check_something_to_prune, kept_layers_of, layer_changes,
                     layer_widths)
from .model_check import (CHECKS, remove_breaking_groups, restore_modules,
                          run_error, snapshot_modules)
from .options import PRUNABLE, PruningOptions
from .output_layers import STRUCTURE_REASON, task_output_layers
from .phase_clock import PhaseClock
from .pruning_history import plain_history
from .result import (NothingToPruneError, StructuredPruningResult,
                     TargetNotReachedError, stated_target,
                     unreached_target_limit)

MeasureFn = Callable[[nn.Module], float]


def _snapshot(group) -> list:
    """What Torch-Pruning changes when it prunes a group, for each of the
    group's modules and the layers inside them (see
    :func:`snapshot_modules`): its attention pruner edits the ``out_proj``
    inside ``nn.MultiheadAttention`` too, which a failed group would
    otherwise leave pruned."""
    modules = dict.fromkeys(sub for dep, _ in group
                            if isinstance(dep.target.module, nn.Module)
                            for sub in dep.target.module.modules())
    return snapshot_modules(modules)


def _prune_step(pruner,
                names: Dict[nn.Module, str],
                skipped: List[dict],
                clock: PhaseClock,
                pruned_layers: Optional[List[set]] = None) -> None:
    """One pruner step, group by group: a group Torch-Pruning fails to
    prune is rolled back and reported instead of crashing the run (no
    Torch-Pruning API does this: its step() stops at the first error with
    the model half pruned). The step's group search and importance count
    in the caller's phase, the pruning itself in ``pruning``. Each group
    pruned appends the layers it pruned to ``pruned_layers`` (in step with
    the pruning history: the model check's suspects)."""
    for group in pruner.step(interactive=True):
        if len(group) == 0:  # its search failed: in pruner.DG.failed
            continue
        snap = _snapshot(group)
        try:
            with clock.phase('pruning'):
                group.prune()
            if pruned_layers is not None:
                pruned_layers.append(group_layers(group))
        except Exception as e:  # noqa: BLE001 - reported, model restored
            restore_modules(snap)
            root = group[0].dep.target.module
            skipped.append(
                dict(
                    name=names.get(root,
                                   type(root).__name__),
                    reason=f'pruning its group failed and was rolled back: '
                    f'{type(e).__name__}: {e}'))


def build_pruner(pruner_cls: type,
                 model: nn.Module,
                 data: dict,
                 importance,
                 ignored_layers: List[nn.Module],
                 forward_fn: Optional[Callable] = None,
                 graph: Optional[ReplayGraph] = None,
                 **kwargs) -> tp.pruner.BasePruner:
    """A Torch-Pruning pruner over mmprune's tracing: opaque layers with
    their own pruners, tensor- or loss-mode forward (``forward_fn``, chosen
    on ``model`` when not given), and attention whose embedding width stays
    divisible by its head count. ``graph``: a graph traced on ``model``
    already, reset here to its unpruned state (the model's modules must be
    unpruned too), instead of a trace of its own."""
    heads = {
        m: m.num_heads
        for m in model.modules() if isinstance(m, nn.MultiheadAttention)
    }
    if graph is None:  # the pruner traces: else the graph's trace did
        zero_non_finite_parameters(model)
    if forward_fn is None:
        forward_fn = choose_forward_fn(model, data)
    if graph is not None:
        graph.reset()
    with opaque_layers(model), all_parameters_require_grad(model), \
            guarded_graphs(None if graph is None else graph.graph), \
            bounded_structure_runs(model):
        return pruner_cls(
            model,
            data,
            importance=importance,
            ignored_layers=ignored_layers,
            customized_pruners=custom_pruners(model),
            out_channel_groups=heads,
            in_channel_groups=heads,
            forward_fn=forward_fn,
            **kwargs)


def _accumulate_gradients(model, criterion, importance, batches) -> None:
    model.zero_grad()
    if criterion.per_sample_gradients:
        importance.zero_grad()
        for data in batches:
            for i in range(len(data['data_samples'])):
                single = dict(
                    inputs=data['inputs'][i:i + 1],
                    data_samples=data['data_samples'][i:i + 1])
                model.zero_grad()
                loss_forward(model, single).backward()
                importance.accumulate_grad(model)
        return
    for data in batches:
        loss_forward(model, data).backward()


def step_line(result: StructuredPruningResult, model: nn.Module,
              widths_before: Dict[str, tuple], step: int, steps: int) -> str:
    """One log line for a pruning step: where its target stands."""
    params = sum(p.numel() for p in model.parameters())
    parts = [
        f'pruning step {step}/{steps} ({result.method}): params '
        f'{result.params_before / 1e6:.3f}M -> {params / 1e6:.3f}M'
    ]
    if result.flops_after:
        parts.append(f'FLOPs {result.flops_after / 1e9:.3f}G '
                     f'({result.flops_before / result.flops_after:.2f}x '
                     'fewer)')
    checks = [c for c in result.latency_checks if c['step'] == step]
    if checks:
        confirmed = checks[-1].get('confirmed_by')
        parts.append(f'latency {checks[-1]["speed_up"]:.2f}x' + (
            f', confirmed {confirmed:.2f}x' if confirmed is not None else '') +
                     f' on {result.target.get("latency_runtime")}')
    narrowed = sum(1 for x in layer_changes(model, widths_before)
                   if x['out_after'] < x['out_before'])
    parts.append(f'{narrowed} layers narrowed so far')
    return ', '.join(parts)


def paired_latency(latency_fn: Callable[[nn.Module],
                                        float], reference: nn.Module,
                   model: nn.Module, rounds: int) -> Tuple[float, float]:
    """``(reference ms, model ms)``: the two timed in alternation,
    ``rounds`` times, each keeping its fastest round. A machine whose speed
    drifts then slows both alike, and a slow spell during one model's turn
    does not decide the ratio; the fastest round is the least disturbed
    one."""
    before = after = float('inf')
    for _ in range(rounds):
        before = min(before, latency_fn(reference))
        after = min(after, latency_fn(model))
    return before, after


def _latency_target_met(result: StructuredPruningResult,
                        latency_fn: Callable[[nn.Module], float],
                        reference: nn.Module, model: nn.Module,
                        opts: PruningOptions, step: int) -> bool:
    """Measure the latency speed-up of ``model`` over ``reference`` into
    ``result``; a measurement that meets the target is taken a second time
    and counts only if that one meets it too: stopping at the first step
    whose one noisy measurement reached the target would favour the lucky
    measurement. The confirming measurement is the one reported."""
    target = opts.latency_speed_up
    result.latency_before, result.latency_after = paired_latency(
        latency_fn, reference, model, opts.latency_rounds)
    check = dict(step=step, speed_up=round(result.latency_speed_up, 4))
    result.latency_checks.append(check)
    if result.latency_speed_up < target:
        return False
    result.latency_before, result.latency_after = paired_latency(
        latency_fn, reference, model, opts.latency_rounds)
    check['confirmed_by'] = round(result.latency_speed_up, 4)
    return result.latency_speed_up >= target


def prune_uniform(
        model: nn.Module,
        data: dict,
        opts: PruningOptions,
        gradient_data: Optional[Sequence[dict]] = None,
        flops_fn: Optional[MeasureFn] = None,
        latency_fn: Optional[MeasureFn] = None,
        latency_reference: Optional[nn.Module] = None,
        forward_fn: Optional[Callable] = None,
        checks: Sequence[str] = CHECKS,
        graph: Optional[ReplayGraph] = None) -> StructuredPruningResult:
    """Prune ``model`` in place with ``opts``' uniform ratios (``ratio``,
    ``layer_ratios``) or in up to ``max_steps`` equal steps towards its
    ``speed_up`` / ``latency_speed_up`` target (see
    :func:`~mmprune.core.structured.prune_model`, which checks ``opts``
    and calls this).

    ``forward_fn``: the tracing forward, when the caller has chosen it on
    the same unpruned architecture (default: chosen here). ``checks``: the
    model check run on the pruned model before groups that broke it are
    rolled back; only a caller that runs the model itself right after (a
    sensitivity trial) passes fewer. ``graph``: Torch-Pruning's graph of
    the unpruned ``model``, traced already (a caller pruning the same model
    many times over, undoing each: see :mod:`.trial_pruning`)."""
    run = _UniformStepping(model, data, opts, flops_fn, latency_fn,
                           latency_reference, forward_fn, checks, graph)
    was_training = model.training
    model.train()  # mmdet freezes stages in train()
    try:
        run.start()
        with run.clock.phase('importance'):
            run.step_all(gradient_data)
        with run.clock.phase('check'):
            run.finish()
    finally:
        model.train(was_training)
    run.result.seconds = run.clock.rounded()
    run.check_outcome()
    return run.result


class _UniformStepping:
    """One uniform prune, split into its phases: the pruner built over the
    kept layers, the steps, the clean-up that hands back a model that
    runs, and the verdict on the target."""

    def __init__(self,
                 model: nn.Module,
                 data: dict,
                 opts: PruningOptions,
                 flops_fn: Optional[MeasureFn],
                 latency_fn: Optional[MeasureFn],
                 latency_reference: Optional[nn.Module],
                 forward_fn: Optional[Callable] = None,
                 checks: Sequence[str] = CHECKS,
                 graph: Optional[ReplayGraph] = None) -> None:
        self.model, self.data, self.opts = model, data, opts
        self.forward_fn, self.checks = forward_fn, tuple(checks)
        self.graph = graph
        self.pruned_layers: List[set] = []  # see _prune_step
        # where the time goes (StructuredPruningResult.seconds)
        self.clock = PhaseClock()
        self.flops_fn = self.clock.timed('measures', flops_fn)
        self.latency_fn = self.clock.timed('measures', latency_fn)
        self.latency_reference = latency_reference
        self.ratio = opts.ratio
        self.stepped = (
            opts.speed_up is not None or opts.latency_speed_up is not None)
        if self.ratio is None and not self.stepped:
            self.ratio = 0.0  # layer_ratios alone: the others keep theirs
        self.asked_a_cut = self.stepped or bool(self.ratio)
        self.steps = opts.max_steps if self.stepped else 1

    def start(self) -> None:
        with self.clock.phase('layers'):
            kept = self._layers()
        with self.clock.phase('tracing'):
            # one choice of the tracing forward for the pruner's trace and
            # every replay of the model check (the same architecture)
            if self.graph is not None:  # else the trace below does both
                zero_non_finite_parameters(self.model)
                if self.forward_fn is None:
                    self.forward_fn = choose_forward_fn(self.model, self.data)
        with self.clock.phase('graph'):
            if self.graph is None:
                # traced here, not by the pruner, so that the model check's
                # roll-back search replays on it: no trace of its own (2-3
                # s on the DETRs), and the index mappings of the prune's
                # group searches are read back for the replay's. The
                # forward is chosen on this trace when not given
                training = self.model.training
                if self.forward_fn is None:
                    graph, self.forward_fn = trace_dependency_graph(
                        self.model,
                        self.data,
                        timed=lambda fn: self.clock.timed('tracing', fn))
                else:
                    graph = build_dependency_graph(
                        self.model, self.data, forward_fn=self.forward_fn)
                self.graph = ReplayGraph(graph)
                self.model.train(training)
            self.pruner = self._build(kept)
            self.unpruned = snapshot_modules(self.model.modules())

    def _layers(self) -> List[str]:
        """The result started: the layers kept, the widths and FLOPs
        before, the latency reference; returns the kept layers' names."""
        model, opts = self.model, self.opts
        kept, self.skipped = kept_layers_of(model, opts)
        if self.asked_a_cut:
            check_something_to_prune(model, opts, (kept, self.skipped))
        self.result = StructuredPruningResult(
            method=opts.method,
            target=stated_target(opts),
            skipped=self.skipped)
        self.result.params_before = sum(p.numel() for p in model.parameters())
        self.before = layer_widths(model)
        if self.flops_fn is not None:
            self.result.flops_before = self.flops_fn(model)
        # the unpruned model is timed again beside the pruned one at every
        # step: a baseline timed once would let the machine's drift decide
        # when the target is met
        self.reference = None
        if opts.latency_speed_up is not None:
            self.reference = self.latency_reference if \
                self.latency_reference is not None else copy.deepcopy(model)
        self.importance = opts.criterion.channel_importance()
        return kept

    def _build(self, kept: List[str]) -> tp.pruner.BasePruner:
        model, opts = self.model, self.opts
        modules = dict(model.named_modules())
        ratio_dict = {}
        for p, r in opts.layer_ratios.items():
            for n in matching_modules(model, p, 'layer_ratios', PRUNABLE):
                ratio_dict.setdefault(modules[n], r)  # first pattern wins
        pruner = build_pruner(
            SegmentAwarePruner,
            model,
            self.data,
            self.importance, [modules[n] for n in kept],
            forward_fn=self.forward_fn,
            graph=self.graph,
            global_pruning=opts.global_pruning,
            pruning_ratio=self.ratio
            if self.ratio is not None else opts.max_layer_ratio,
            pruning_ratio_dict=ratio_dict or None,
            max_pruning_ratio=opts.max_layer_ratio,
            iterative_steps=self.steps,
            round_to=opts.round_to)
        self.names = {m: n for n, m in modules.items()}
        # heads the name list has never seen keep their task dimension too
        for m in task_output_layers(pruner.DG, pruner.ignored_layers,
                                    pruner.root_module_types):
            pruner.ignored_layers.append(m)
            self.skipped.append(
                dict(
                    name=self.names.get(m,
                                        type(m).__name__),
                    reason=STRUCTURE_REASON))
        return pruner

    def step_all(self, gradient_data: Optional[Sequence[dict]]) -> None:
        model, opts, result = self.model, self.opts, self.result
        steps = self.steps
        if self.latency_reference is not None and \
                self.reference is not None and \
                _latency_target_met(result, self.latency_fn, self.reference,
                                    model, opts, step=0):
            steps = 0  # this prune point's share is already there
        criterion = opts.criterion
        for step in range(steps):
            if criterion.needs_gradients:
                model.train()
                _accumulate_gradients(model, criterion, self.importance,
                                      gradient_data or [self.data])
            _prune_step(self.pruner, self.names, self.skipped, self.clock,
                        self.pruned_layers)
            result.steps = step + 1
            done = False
            if opts.speed_up is not None:
                result.flops_after = self.flops_fn(model)
                done = result.flops_before / result.flops_after >= \
                    opts.speed_up
            elif self.reference is not None:
                done = _latency_target_met(result, self.latency_fn,
                                           self.reference, model, opts,
                                           step + 1)
            if self.stepped:
                print_log(
                    step_line(result, model, self.before, step + 1, steps),
                    logger='current')
            if done:
                break

    def finish(self) -> None:
        """Report the groups Torch-Pruning could not prune, free its graph,
        and roll back the groups that broke the model: the model handed
        back always runs."""
        model, result, skipped = self.model, self.result, self.skipped
        model.zero_grad(set_to_none=True)
        for module, reason in self.pruner.DG.failed.items():
            skipped.append(
                dict(
                    name=self.names.get(module,
                                        type(module).__name__),
                    reason=f'{reason}; its channels are kept'))
        result.history = plain_history(self.pruner.pruning_history())
        release_graph(self.pruner.DG)
        del self.pruner
        error = run_error(model, self.data, self.checks)
        if error is not None:
            result.history, broken = remove_breaking_groups(
                model, self.data, self.unpruned, result.history, error,
                self.forward_fn, self.pruned_layers, self.graph)
            skipped += broken
            if self.flops_fn is not None:
                result.flops_after = self.flops_fn(model)
            if self.reference is not None:
                result.latency_before, result.latency_after = \
                    paired_latency(self.latency_fn, self.reference, model,
                                   self.opts.latency_rounds)
        del self.unpruned, self.reference
        if self.flops_fn is not None and result.flops_after is None:
            result.flops_after = self.flops_fn(model)
        result.params_after = sum(p.numel() for p in model.parameters())
        result.layers = layer_changes(model, self.before)

    def check_outcome(self) -> None:
        """Nothing narrowed is an error; a target not met is said in the
        result, and is an error with ``strict_target``."""
        opts, result, skipped = self.opts, self.result, self.skipped
        if self.asked_a_cut and result.steps and not any(
                x['out_after'] < x['out_before'] for x in result.layers):
            reasons = sorted({s['reason'].split(';')[0] for s in skipped})
            raise NothingToPruneError(
                f'nothing was pruned: {opts.method} narrowed no layer for '
                f'the target {result.target}; {len(skipped)} layers were '
                f'kept ({"; ".join(reasons)[:400]}). Nothing is written; '
                'change ignored, protected, prune_stem or round_to')
        if opts.speed_up is not None and result.speed_up < opts.speed_up:
            result.target_reached = False
            result.limit = unreached_target_limit(opts, len(skipped))
            if opts.strict_target:
                raise TargetNotReachedError(
                    f'speed_up={opts.speed_up} was not reached: '
                    f'{result.speed_up:.2f}x ('
                    f'{result.params_after / 1e6:.3f}M params). '
                    f'{result.limit}')
        if opts.latency_speed_up is not None and \
                result.latency_speed_up < opts.latency_speed_up:
            result.target_reached = False
            result.limit = unreached_target_limit(opts, len(skipped),
                                                  'latency')
            if opts.strict_target:
                raise TargetNotReachedError(
                    f'latency_speed_up={opts.latency_speed_up} on '
                    f'{opts.latency_runtime} was not reached: '
                    f'{result.latency_speed_up:.2f}x. {result.limit}')
