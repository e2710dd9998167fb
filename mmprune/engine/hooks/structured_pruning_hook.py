"""``StructuredPruningHook``: structured channel pruning inside a training
run. The hook only schedules: its options, prune points, sparse-training
phase and checkpoint record are core objects, each prune point runs in
``engine/prune_in_run.py``, the runner follows the new structure through
``engine/runner_rebuild.py`` and the report is ``RunPruningReport``."""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook

from mmprune.analysis.pruning_meter import PruningMeter
from mmprune.core.structured import PruningOptions
from mmprune.core.structured.layers import (check_something_to_prune,
                                            kept_modules, layer_widths)
from mmprune.core.structured.options import AUTO
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_schedule import PruningSchedule
from mmprune.core.structured.sparse_training import SparseTrainingPhase
from mmprune.datasets.train_batches import train_batches
from mmprune.engine.model_access import distiller_of, student_model
from mmprune.engine.prune_in_run import prune_in_run
from mmprune.engine.run_pruning_report import RunPruningReport
from mmprune.engine.runner_rebuild import (catch_up_with_checkpoint,
                                           follow_structure_change,
                                           parameter_names)
from mmprune.engine.training_checks import (check_hook_measures,
                                            check_loss_finite)
from mmprune.engine.unpruned_reference import unpruned_model
from mmprune.registry import HOOKS
from mmprune.utils.input_size import check_input_shape

HOOK_OPTIONS = ('prune_at', 'sparse_training', 'input_shape',
                'measure_latency', 'latency_runs')

WHO = 'StructuredPruningHook'


@HOOKS.register_module()
class StructuredPruningHook(Hook):
    """Prune channels of the model being trained, then let training
    finetune it (see docs/en/user_guides/structured_pruning.md).

    Args:
        **pruning: the :class:`~mmprune.core.structured.PruningOptions`
            (``method``, ``ratio`` | ``speed_up`` | ``latency_speed_up`` |
            ``layer_ratios``, ...), checked when the hook is built; the
            gradient criteria and sensitivity allocation draw
            ``gradient_batches`` batches of the train dataloader.
        prune_at: training iterations before which to prune; ``(0, )`` is
            one shot; several points prune iteratively, each reaching its
            share of the target, with finetuning in between.
        sparse_training: ``dict(iters, reg, schedule, update_interval)``:
            the method's sparsity penalty for ``iters`` iterations before
            each prune point (``slim``, ``group_slim``, ``group_sl``,
            ``growing_reg``).
        input_shape: (H, W) of the synthetic image for FLOPs and latency;
            default: the size of a training batch.
        measure_latency, latency_runs: latency before and after, in
            PyTorch and ONNX Runtime (median of ``latency_runs``).

    Without a target the hook only rebuilds the pruned structure that
    checkpoints carry (``'pruning'``) when one loads. With a
    ``mmprune.Distiller`` its student is pruned; a Distiller without a
    teacher of its own gets the student as training starts, and its
    adapters follow the pruned widths. Writes ``pruning_results.json`` and
    ``pruning_channels.png`` in the work dir.
    """
    # after_load_checkpoint must shape the EMA copy before EMAHook (NORMAL
    # or 49 in mmdet configs) loads the checkpoint's EMA weights into it
    priority = 'HIGH'

    def __init__(self,
                 prune_at: Sequence[int] = (0, ),
                 sparse_training: Optional[dict] = None,
                 input_shape: Optional[Tuple[int, int]] = None,
                 measure_latency: bool = True,
                 latency_runs: int = 10,
                 **pruning) -> None:
        # what is checkable without the model fails as the hook is built
        if len(list(prune_at)) > 1 and pruning.get('allocation', AUTO) == AUTO:
            # sensitivity allocation chooses ratios for one prune point
            pruning = dict(pruning, allocation='uniform')
        try:
            self.options = PruningOptions.from_dict(
                pruning, 'pruning options (known hook options: '
                f'{", ".join(HOOK_OPTIONS)})')
            self.schedule = PruningSchedule(prune_at, self.options)
            self.sparse = SparseTrainingPhase.from_config(
                sparse_training, self.options.method, prune_at)
        except ValueError as e:
            raise ValueError(f'{WHO}: {e}') from None
        check_hook_measures(input_shape, latency_runs, WHO)
        self.restore_only = not self.options.has_target
        self.method = self.options.method
        self.input_shape = input_shape
        self.measure_latency = measure_latency
        self.latency_runs = latency_runs
        # the structure of the model, as checkpoints carry it
        self.structure = PrunedStructure(method=self.method)
        self.reporter = RunPruningReport(self.options, self.schedule,
                                         self.sparse, measure_latency,
                                         latency_runs, WHO)
        self._batches, self._iter, self._penalty = None, 0, None
        self._unpruned: Optional[torch.nn.Module] = None  # latency reference

    def before_run(self, runner) -> None:
        if self.restore_only:
            return
        # a Distiller's student is pruned (see follow_structure_change)
        try:
            check_input_shape(runner.cfg.model, self.input_shape,
                              'input_shape')
            model = student_model(runner.model)
            self.options.check_model(model)
            check_something_to_prune(model, self.options)
        except ValueError as e:
            raise ValueError(f'{WHO}: {e}') from None

    def _batch(self, runner, model) -> dict:
        """A preprocessed batch from the runner's train dataloader config
        (its own loader, so the training iterator is not disturbed)."""
        if self._batches is None:
            self._batches = train_batches(runner.cfg, model)
        return next(self._batches)

    def before_train(self, runner) -> None:
        distiller = distiller_of(runner.model)
        if distiller is not None and distiller.teacher_waits_for_student:
            # after load_or_resume: the weights in load_from, unpruned
            distiller.take_teacher_from_student()
            runner.logger.info(f'{WHO}: the distillation teacher is the '
                               'student as training starts (unpruned, frozen)')
        if self.sparse is not None:  # removed after training
            optimizer = runner.optim_wrapper.optimizer
            self._penalty = optimizer.register_step_pre_hook(
                lambda *args, **kwargs: self._regularize(runner))

    def after_train(self, runner) -> None:
        if self._penalty is not None:
            self._penalty.remove()
            self._penalty = None

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._iter = runner.iter
        if self.restore_only:
            return
        for k in self.schedule.points_due(runner.iter, self.structure.done):
            self._prune(runner, k)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        # a run that diverges after a prune point is said at the iteration
        # it happens, before a checkpoint of NaN weights is saved
        if not self.restore_only and self.structure.done:
            check_loss_finite(outputs, runner.iter + 1,
                              self.structure.done[-1], WHO)

    def _regularize(self, runner) -> None:
        model = student_model(runner.model)
        started = self.sparse.regularize(
            model, self._iter, self.structure.done, lambda:
            (self._batch(runner, model), kept_modules(model, self.options)))
        if started is not None:
            runner.logger.info(
                f'{WHO}: sparse training ({self.method}, '
                f'reg {self.sparse.reg}, {self.sparse.schedule}) until '
                f'iteration {started}')

    def _prune(self, runner, k: int) -> None:
        model = student_model(runner.model)
        data = self._batch(runner, model)
        shape = tuple(self.input_shape or data['inputs'].shape[-2:])
        meter = PruningMeter(shape, self.options.latency_runtime,
                             self.latency_runs)
        flops_now = meter.flops(model)
        if self.reporter.report is None:
            self.structure.widths = layer_widths(model)
            self.reporter.start(runner, model, shape, flops_now)
        if self.measure_latency:
            self._unpruned_reference(runner, model)  # before it is pruned
        p = self.schedule.prune_at[k - 1]
        target = self.schedule.step_target(k,
                                           self.reporter.report.flops_before,
                                           flops_now)
        step = self.schedule.step_options(target)
        if self.schedule.already_met(target):
            runner.logger.info(f'{WHO}: iteration {p}: the FLOPs target of '
                               'this step is already met')
            self.structure.done.append(p)
            return
        names = parameter_names(runner.model)
        payload = prune_in_run(
            runner, model, data, step, lambda: self._batch(runner, model),
            meter.prune_kwargs('speed_up' in target
                               or self.options.allocation != 'uniform'),
            self._latency_reference(runner, model), self.structure.history,
            WHO)
        self.structure.done.append(p)
        if self.sparse is not None:
            self.sparse.structure_changed()
        follow_structure_change(runner, names, data, payload['history'], WHO)
        self.reporter.add_prune_point(runner, model, self._unpruned,
                                      meter.flops(model), p, target, payload,
                                      self.structure)

    def _latency_reference(self, runner, model) -> Optional[torch.nn.Module]:
        # each prune point's share of a latency target is of the unpruned
        if self.options.latency_speed_up is None:
            return None
        return self._unpruned_reference(runner, model)

    def _unpruned_reference(self, runner, model) -> torch.nn.Module:
        if self._unpruned is None:
            self._unpruned = unpruned_model(runner, model,
                                            bool(self.structure.history))
        return self._unpruned

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.structure.history or self.structure.done:
            self.structure.to_checkpoint(checkpoint)
        distiller = distiller_of(runner.model)
        if distiller is not None:
            distiller.teacher_to_checkpoint(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        distiller = distiller_of(runner.model)
        if distiller is not None and \
                distiller.teacher_from_checkpoint(checkpoint):
            runner.logger.info(f'{WHO}: the distillation teacher restored '
                               'from the checkpoint')
        record = PrunedStructure.from_checkpoint(
            checkpoint, 'the checkpoint being loaded')
        if record is None:
            return
        model = student_model(runner.model)
        if catch_up_with_checkpoint(runner, record.history,
                                    self.structure.history,
                                    lambda: self._batch(runner, model), WHO):
            self.structure.history = record.history
            if self.sparse is not None:
                self.sparse.structure_changed()
        self.structure.done = sorted(
            set(self.structure.done) | set(record.done))
        if self.reporter.report is None and record.report:
            self.structure.report = record.report
            self.reporter.restore(record)
            self.structure.widths = record.widths
