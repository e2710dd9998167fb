"""``UnstructuredSparsityHook``: module-aware element sparsity during
training, with masks that stay enforced and survive checkpoints."""
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.hooks import EMAHook, Hook

from mmprune.analysis import measure_latency
from mmprune.core.sparsity import (SPARSITY_SCOPES, SparsityPlan, apply_masks,
                                   check_masks_fit, compute_masks,
                                   cubic_sparsity_fraction, is_sparsity_step,
                                   normalize_ratios, resolve_sparsity_plan,
                                   sparsity_criterion, sparsity_statistics,
                                   summary_lines)
from mmprune.core.sparsity.plan import RatioSpec, check_pattern, check_ratio
from mmprune.engine.model_access import student_model
from mmprune.registry import HOOKS
from mmprune.utils import dump_json_atomic

CHECKPOINT_KEY = 'sparsity'


@HOOKS.register_module()
class UnstructuredSparsityHook(Hook):
    """Zero a share of the weights per module-name pattern, by magnitude.

    Args:
        ratios: ``{pattern: ratio}`` (or a list of ``(pattern, ratio)``
            pairs), searched in module names in order; the first match
            wins. Every pattern must match some module.
        default_ratio: the ratio of weights no pattern matches.
        protected: patterns left dense; None = the prediction layers of
            supported model families (``mmprune/models/families``).
        importance: a criterion with element scores: ``l1``, ``l2`` or
            ``l1+l2`` (``l1_weight`` * L1 + (1 - ``l1_weight``) * L2, the
            module-aware recipe's 0.7/0.3), or ``dict(type=...)`` of
            ``mmprune.core.criteria``.
        scope: ``per_layer`` (each weight meets its ratio) or ``global``
            (the weights one rule covers are ranked together and meet the
            ratio together).
        start_iter, end_iter: one shot at ``start_iter`` when ``end_iter``
            is None or equal; otherwise gradual with the cubic schedule,
            masks updated every ``interval`` iterations up to end_iter.
        semi_structured: patterns of layers given a 2:4 pattern instead of
            their ratio (nn.Linear/nn.Conv2d with input channels % 4 == 0;
            others are listed as skipped and keep their ratio).
        measure_latency: measure dense CPU/GPU latency before and after.
        input_shape, latency_runs: (H, W) of the synthetic image and the
            runs latency is measured on (``latency_input_shape``, its
            former name, is still read, with a warning).

    Masks are re-applied after every training iteration (after the
    optimizer step and after EMAHook's update, to both the model and the
    EMA copy), saved in checkpoints under ``'sparsity'`` and restored on
    ``--resume``. Writes ``sparsity_results.json`` in the work dir.
    """
    # Below EMAHook (NORMAL): the EMA average is masked after its update.
    priority = 'BELOW_NORMAL'

    def __init__(
            self,
            ratios: RatioSpec = None,
            default_ratio: float = 0.0,
            protected: Optional[Sequence[str]] = None,
            importance: Union[str, dict] = 'l1',
            l1_weight: float = 0.7,
            scope: str = 'per_layer',
            start_iter: int = 0,
            end_iter: Optional[int] = None,
            interval: int = 100,
            semi_structured: Sequence[str] = (),
            measure_latency: bool = True,
            input_shape: Tuple[int, int] = (640, 640),
            latency_runs: int = 10,
            latency_input_shape: Optional[Tuple[int, int]] = None) -> None:
        # Everything that can be checked without the model fails here,
        # when the runner builds its hooks, before any work.
        self.ratios = normalize_ratios(ratios)
        check_ratio(default_ratio, 'default_ratio')
        try:
            sparsity_criterion(importance, l1_weight)
        except ValueError as e:
            raise ValueError(f'UnstructuredSparsityHook: {e}') from None
        if scope not in SPARSITY_SCOPES:
            raise ValueError(
                f'UnstructuredSparsityHook: scope {scope!r} is not one of '
                f'{", ".join(SPARSITY_SCOPES)}')
        if not 0 <= l1_weight <= 1:
            raise ValueError(f'l1_weight = {l1_weight}: must be in [0, 1]')
        end_iter = start_iter if end_iter is None else end_iter
        if start_iter < 0 or end_iter < start_iter:
            raise ValueError(
                f'start_iter = {start_iter}, end_iter = {end_iter}: need '
                '0 <= start_iter <= end_iter')
        if interval < 1:
            raise ValueError(f'interval = {interval}: must be >= 1')
        for p in list(protected or []) + list(semi_structured):
            check_pattern(p, 'protected / semi_structured')
        self.default_ratio = default_ratio
        self.protected = None if protected is None else list(protected)
        self.importance = importance
        self.l1_weight = l1_weight
        self.scope = scope
        self.start_iter, self.end_iter = start_iter, end_iter
        self.interval = interval
        self.semi_structured = list(semi_structured)
        self.measure = measure_latency
        if latency_input_shape is not None:
            warnings.warn(
                'UnstructuredSparsityHook: latency_input_shape is now '
                'input_shape (as in StructuredPruningHook)', FutureWarning)
            input_shape = latency_input_shape
        self.input_shape = tuple(input_shape)
        self.latency_runs = latency_runs

        self.plan: Optional[SparsityPlan] = None
        self.masks: Dict[str, torch.Tensor] = {}
        self.fraction = 0.0
        self.latency: Dict[str, float] = {}

    # -- setup ---------------------------------------------------------
    def before_run(self, runner) -> None:
        # Patterns are checked against the real model before training,
        # testing or checkpoint loading starts.
        self.plan = resolve_sparsity_plan(
            student_model(runner.model), self.ratios, self.default_ratio,
            self.protected, self.semi_structured)
        runner.logger.info(
            f'UnstructuredSparsityHook: {len(self.plan.targets)} weights '
            f'under {len(self.plan.rules())} rules, '
            f'{len(self.plan.protected)} protected, schedule ' +
            (f'one shot at iteration {self.start_iter}' if self.end_iter ==
             self.start_iter else
             f'cubic over iterations {self.start_iter}-{self.end_iter} '
             f'every {self.interval}'))

    def before_train(self, runner) -> None:
        if self.measure and 'dense_before_ms' not in self.latency:
            self.latency['dense_before_ms'] = measure_latency(
                student_model(runner.model), self.input_shape,
                self.latency_runs)

    # -- schedule and enforcement -------------------------------------
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        it = runner.iter
        if not is_sparsity_step(it, self.start_iter, self.end_iter,
                                self.interval):
            return
        fraction = cubic_sparsity_fraction(it, self.start_iter, self.end_iter)
        if fraction <= self.fraction and self.masks:
            return  # already there (e.g. resumed at this iteration)
        model = student_model(runner.model)
        self.masks = compute_masks(
            model,
            self.plan,
            fraction,
            self.importance,
            self.scope,
            self.l1_weight,
            previous=self.masks)
        self.fraction = fraction
        self._enforce(runner)
        stats = sparsity_statistics(model, self.plan, fraction)
        runner.logger.info(
            f'UnstructuredSparsityHook: iteration {it}, '
            f'{fraction:.1%} of the final ratios, targeted sparsity '
            f'{stats["overall"]["targeted_sparsity"]:.2%}')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._enforce(runner)

    def _enforce(self, runner) -> None:
        if not self.masks:
            return
        apply_masks(student_model(runner.model), self.masks)
        for hook in runner.hooks:  # the EMA copy must be sparse as well
            if isinstance(hook, EMAHook) and hasattr(hook, 'ema_model'):
                apply_masks(student_model(hook.ema_model.module), self.masks)

    def after_train(self, runner) -> None:
        model = student_model(runner.model)
        if self.measure:
            self.latency['dense_after_ms'] = measure_latency(
                model, self.input_shape, self.latency_runs)
        self._report(runner, model)

    def _report(self, runner, model) -> None:
        stats = sparsity_statistics(model, self.plan, self.fraction)
        for line in summary_lines(stats, self.latency):
            runner.logger.info(line)
        result = dict(
            config=osp.basename(runner.cfg.filename or ''),
            importance=self.importance,
            scope=self.scope,
            schedule=dict(
                start_iter=self.start_iter,
                end_iter=self.end_iter,
                interval=self.interval,
                fraction_reached=self.fraction),
            latency=dict(
                self.latency,
                input_shape=list(self.input_shape),
                device=str(next(model.parameters()).device),
                note='dense kernels: zeros are still multiplied'),
            **stats)
        out = osp.join(runner.work_dir, 'sparsity_results.json')
        dump_json_atomic(result, out)
        runner.logger.info(f'sparsity report: {out}')

    # -- checkpoints ----------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = dict(
            masks={
                k: v.cpu()
                for k, v in self.masks.items()
            },
            fraction=self.fraction,
            latency=dict(self.latency))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if not saved or not runner._resume:
            return  # load_from: the schedule starts again from its start
        check_masks_fit(
            student_model(runner.model), saved['masks'], 'resumed checkpoint')
        self.masks = dict(saved['masks'])
        self.fraction = saved['fraction']
        self.latency.update(saved.get('latency', {}))
        runner.logger.info(
            f'UnstructuredSparsityHook: restored {len(self.masks)} masks '
            f'({self.fraction:.1%} of the final ratios)')
