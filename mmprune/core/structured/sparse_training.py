"""The sparse-training phase of ``slim``, ``group_slim``, ``group_sl`` and
``growing_reg``: Torch-Pruning's pruner of the method, whose
``regularize`` adds the sparsity penalty's gradient after the backward
pass and before the optimizer step."""
from typing import Callable, List, Optional, Sequence

import torch.nn as nn

from .methods import get_pruning_method
from .options import is_finite_number, is_integer
from .stepping import build_pruner

SCHEDULES = ('constant', 'linear')


def regularization_strength(reg: float, schedule: str,
                            progress: float) -> float:
    """The penalty strength at ``progress`` (0 to 1) through the phase:
    ``constant``, or ``linear`` from 0 up to ``reg``."""
    if schedule not in SCHEDULES:
        raise ValueError(f'sparse_training.schedule = {schedule!r}: must be '
                         f'one of {SCHEDULES}')
    if schedule == 'constant':
        return reg
    return reg * min(max(progress, 0.0), 1.0)


class SparseRegularizer:
    """Adds a method's sparsity penalty to the gradients of ``model``.

    ``growing_reg`` grows its per-channel penalty by ``reg`` every
    ``update_interval`` calls (Wang et al., GReg); the others scale theirs
    by the strength given to :meth:`regularize`.
    """

    def __init__(self,
                 model: nn.Module,
                 data: dict,
                 method: str,
                 reg: float,
                 ignored_layers: List[nn.Module],
                 update_interval: int = 10) -> None:
        pm = get_pruning_method(method)
        if pm.sparse_training is None:
            raise ValueError(
                f'method {method!r} has no sparse-training phase (those '
                'that do: slim, group_slim, group_sl, growing_reg)')
        extra = dict(pm.sparse_training_args)
        if method == 'growing_reg':
            extra['delta_reg'] = reg
        self.method = method
        self.update_interval = update_interval
        self.calls = 0
        self.pruner = build_pruner(
            pm.sparse_training,
            model,
            data,
            pm.importance(),
            ignored_layers,
            reg=reg,
            **extra)

    def regularize(self, model: nn.Module, strength: float) -> None:
        if self.method == 'growing_reg':
            if self.calls and self.calls % self.update_interval == 0:
                self.pruner.update_reg()
        else:
            self.pruner.reg = strength
        self.calls += 1
        self.pruner.regularize(model)


class SparseTrainingPhase:
    """The iterations before each prune point in which the method's
    sparsity penalty is added to the gradients before every optimizer
    step.

    Args:
        method: a method with a sparse-training phase (``slim``,
            ``group_slim``, ``group_sl``, ``growing_reg``).
        prune_at: the run's prune points.
        iters: iterations of the phase before each prune point (it must fit
            after the previous one).
        reg: the penalty strength, reached at once (``schedule='constant'``)
            or growing from 0 (``'linear'``); ``growing_reg`` adds it every
            ``update_interval`` steps.
    """
    KEYS = ('iters', 'reg', 'schedule', 'update_interval')

    def __init__(self,
                 method: str,
                 prune_at: Sequence[int],
                 iters: int = 100,
                 reg: float = 1e-4,
                 schedule: str = 'constant',
                 update_interval: int = 10) -> None:
        if get_pruning_method(method).sparse_training is None:
            raise ValueError(
                f'sparse_training is given but method {method!r} has no '
                'sparse-training phase (slim, group_slim, group_sl, '
                'growing_reg do)')
        self.config = dict(
            iters=iters,
            reg=reg,
            schedule=schedule,
            update_interval=update_interval)
        if not (is_integer(iters) and iters >= 1
                and is_integer(update_interval) and update_interval >= 1
                and is_finite_number(reg) and reg > 0):
            raise ValueError(f'sparse_training = {self.config}: iters and '
                             'update_interval must be integers >= 1 and reg '
                             'a finite number > 0')
        if schedule not in SCHEDULES:
            raise ValueError(
                f'sparse_training.schedule = {schedule!r}: must be one of '
                f'{SCHEDULES}')
        prune_at = list(prune_at)
        for start, p in zip([0] + prune_at[:-1], prune_at):
            if p - iters < start:
                raise ValueError(
                    f'prune_at = {prune_at}: sparse training needs {iters} '
                    f'iterations before prune point {p} (and after the '
                    'previous one)')
        self.method, self.prune_at = method, prune_at
        self.iters, self.reg, self.schedule = iters, reg, schedule
        self.update_interval = update_interval
        self._regularizer: Optional[SparseRegularizer] = None

    @classmethod
    def from_config(
            cls, cfg: Optional[dict], method: str,
            prune_at: Sequence[int]) -> Optional['SparseTrainingPhase']:
        """The phase of a ``sparse_training=dict(...)`` config (None: no
        phase); an unknown key names itself."""
        if cfg is None:
            return None
        unknown = set(cfg) - set(cls.KEYS)
        if unknown:
            raise ValueError(
                f'sparse_training has unknown keys {sorted(unknown)}; '
                f'known: {", ".join(cls.KEYS)}')
        return cls(method, prune_at, **cfg)

    def window(self, iteration: int, done: Sequence[int]) -> Optional[int]:
        """The prune point whose phase holds at ``iteration``, or None."""
        for p in self.prune_at:
            if p not in done and p - self.iters <= iteration < p:
                return p
        return None

    def regularize(self, model: nn.Module, iteration: int, done: Sequence[int],
                   regularizer_inputs: Callable[[], tuple]) -> Optional[int]:
        """Add the penalty to ``model``'s gradients if the phase holds at
        ``iteration``; returns the prune point when this call started the
        phase (for the log). ``regularizer_inputs()`` gives ``(data,
        ignored_layers)`` for the penalty's dependency graph, built once
        per phase."""
        p = self.window(iteration, done)
        if p is None:
            return None
        started = self._regularizer is None
        if started:
            data, ignored = regularizer_inputs()
            self._regularizer = SparseRegularizer(model, data, self.method,
                                                  self.reg, ignored,
                                                  self.update_interval)
            model.train()
        progress = (iteration - (p - self.iters) + 1) / self.iters
        self._regularizer.regularize(
            model, regularization_strength(self.reg, self.schedule, progress))
        return p if started else None

    def structure_changed(self) -> None:
        """The penalty's groups were those of the model before pruning."""
        self._regularizer = None
