"""What the runner holds that points at a model's parameters, brought back
in line after pruning replaced them (Torch-Pruning gives every pruned
layer new ``nn.Parameter`` objects of new shapes).

mmengine has no call for this: ``Runner.build_optim_wrapper`` returns an
existing wrapper unchanged, and rebuilding one from the config would lose
the param schedulers' hold on its param groups.
"""
from typing import Dict

import torch.nn as nn
from mmengine.hooks import EMAHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from .model_access import unwrapped


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
