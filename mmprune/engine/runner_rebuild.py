"""What the runner holds that points at a model's parameters, brought back
in line after pruning replaced them (Torch-Pruning gives every pruned
layer new ``nn.Parameter`` objects of new shapes).

mmengine has no call for this: ``Runner.build_optim_wrapper`` returns an
existing wrapper unchanged, and rebuilding one from the config would lose
the param schedulers' hold on its param groups.
"""
import copy
from typing import Callable, Dict

import torch.nn as nn
from mmengine.hooks import EMAHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.models.distillers import Distiller
from .distributed_pruning import rank_local
from .model_access import distiller_of, student_model, unwrapped


def parameter_names(model: nn.Module) -> Dict[int, str]:
    """``id(parameter) -> name``, taken before pruning."""
    return {id(p): n for n, p in unwrapped(model).named_parameters()}


def rebind_optimizer(optim_wrapper, names_before: Dict[int, str],
                     model: nn.Module) -> int:
    """Point every param group at the pruned model's parameters, in the
    same order (so a resumed optimizer state still lines up). A parameter
    whose shape changed loses its optimizer state (momentum, Adam moments
    of removed channels have no meaning); the param groups, their learning
    rates and the schedulers acting on them are kept; a parameter that is
    new (an adapter built for the pruned widths) joins a param group.
    Returns how many states were dropped."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return sum(
            rebind_optimizer(w, names_before, model)
            for w in optim_wrapper.values())
    if not isinstance(optim_wrapper, OptimWrapper):
        return 0  # not built yet (test mode): nothing holds parameters
    params = dict(unwrapped(model).named_parameters())
    optimizer = optim_wrapper.optimizer
    dropped = 0
    held = set()
    for group in optimizer.param_groups:
        new = []
        for p in group['params']:
            name = names_before[id(p)]
            q = params.get(name)
            if q is None:  # a module removed with the old structure
                optimizer.state.pop(p, None)
                continue
            if q is not p:
                state = optimizer.state.pop(p, None)
                if state and q.shape == p.shape:
                    optimizer.state[q] = state
                elif state:
                    dropped += 1
            new.append(q)
            held.add(name)
        group['params'] = new
    added = [p for n, p in params.items() if n not in held and p.requires_grad]
    if added:
        # parameters that did not exist before (distillation adapters
        # sized for the pruned student) are stepped with the optimizer's
        # own settings: the first group that has them
        lr, decay = (optimizer.defaults.get(k) for k in ('lr', 'weight_decay'))
        group = next((g for g in optimizer.param_groups
                      if g.get('initial_lr', g.get('lr')) == lr
                      and g.get('weight_decay') == decay),
                     optimizer.param_groups[0])
        group['params'].extend(added)
    return dropped


def rewrap_model(runner) -> None:
    """A DDP wrapper built around the old parameters is built again around
    the pruned model (its buckets and hooks hold the old tensors)."""
    if not is_model_wrapper(runner.model):
        return
    inner = runner.model.module
    cfg = runner.cfg.get('model_wrapper_cfg')
    runner.model = runner.wrap_model(
        dict(cfg) if cfg is not None else None, inner)


def ema_hooks(runner):
    return [
        h for h in runner.hooks
        if isinstance(h, EMAHook) and getattr(h, 'ema_model', None) is not None
    ]


def refresh_averaged_model(ema_model) -> None:
    """mmengine's ``BaseAveragedModel`` keeps the tensors it averages in
    ``avg_parameters``, taken once when built: point it at the pruned
    module's tensors (the same selection it made then)."""
    module = ema_model.module
    if ema_model.update_buffers:
        ema_model.avg_parameters = module.state_dict()
    else:
        ema_model.avg_parameters = dict(module.named_parameters())


def follow_structure_change(runner, names_before: Dict[int, str], data: dict,
                            new_history: list, who: str) -> None:
    """Everything the runner holds brought in line with a student pruned
    by ``new_history`` (groups just pruned or replayed from a checkpoint):
    a Distiller's adapters sized for the new widths, the optimizer's param
    groups, each EMA copy pruned the same way (keeping its averages), the
    DDP wrapper. ``names_before``: :func:`parameter_names` taken before;
    ``who`` prefixes the log lines."""
    distiller = distiller_of(runner.model)
    if distiller is not None:
        with rank_local():
            refitted = distiller.fit_adapters()
        if refitted:
            runner.logger.info(f'{who}: distillation adapters sized for the '
                               f'pruned student: {", ".join(refitted)}')
    dropped = rebind_optimizer(runner.optim_wrapper, names_before,
                               runner.model)
    for hook in ema_hooks(runner):
        with rank_local():
            replay_pruning_history(
                student_model(hook.ema_model.module), data, new_history)
        if distiller is not None and \
                isinstance(hook.ema_model.module, Distiller):
            hook.ema_model.module.distill_losses = copy.deepcopy(
                distiller.distill_losses)
        refresh_averaged_model(hook.ema_model)
    rewrap_model(runner)
    student_model(runner.model).zero_grad(set_to_none=True)
    if dropped:
        runner.logger.info(f'{who}: optimizer state of {dropped} pruned '
                           'parameters reset (their channels changed)')


def catch_up_with_checkpoint(runner, history: list, known: list,
                             next_batch: Callable[[], dict], who: str) -> bool:
    """Prune the runner's student by the groups of a loaded checkpoint's
    pruning ``history`` that this run (``known``) has not applied, and
    bring the runner in line; whether there were any. A checkpoint pruned
    differently from this run is refused."""
    if history[:len(known)] != known:
        raise ValueError(
            f'{who}: the checkpoint being loaded was pruned differently '
            'from the model in this run (its pruning history does not '
            'extend this one)')
    new = history[len(known):]
    if not new:
        return False
    model = student_model(runner.model)
    replay_in_runner(runner, next_batch(), new, who)
    runner.logger.info(
        f'{who}: rebuilt the pruned structure from the checkpoint '
        f'({len(history)} pruned groups): '
        f'{sum(p.numel() for p in model.parameters()) / 1e6:.3f}M params')
    return True


def replay_in_runner(runner, data: dict, history: list, who: str) -> None:
    """Prune the runner's student by ``history`` (a checkpoint's groups
    this run has not applied yet), then bring the runner in line
    (:func:`follow_structure_change`)."""
    names = parameter_names(runner.model)
    with rank_local():
        replay_pruning_history(student_model(runner.model), data, history)
    follow_structure_change(runner, names, data, history, who)
