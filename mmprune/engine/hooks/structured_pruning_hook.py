"""``StructuredPruningHook``: structured channel pruning inside a training
run (one shot or iterative, optionally after a sparse-training phase), with
the pruned structure carried by checkpoints.

The hook only schedules: the options are a core ``PruningOptions``, the
prune points a ``PruningSchedule``, the penalty phase a
``SparseTrainingPhase``, the record in checkpoints a ``PrunedStructure``
and the report a ``PruningReport`` (all shared with ``tools/prune.py``);
the runner's objects that hold parameters are rebuilt by
``engine/runner_rebuild.py``, and a multi-process run decides on rank 0
(``engine/distributed_pruning.py``)."""
import copy
import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook

from mmprune.analysis import module_breakdown
from mmprune.analysis.latency import latency_measure, runtime_latencies
from mmprune.analysis.pruning_report import PruningReport
from mmprune.analysis.width_latency import round_to_measure
from mmprune.core.structured import (PruningOptions, StructuredPruningResult,
                                     TargetNotReachedError)
from mmprune.core.structured.prune import (check_something_to_prune,
                                           kept_layers, layer_widths,
                                           prune_model)
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.core.structured.pruning_schedule import PruningSchedule
from mmprune.core.structured.sparse_training import SparseTrainingPhase
from mmprune.datasets.train_batches import train_batches
from mmprune.engine.distributed_pruning import (check_ranks_agree,
                                                decide_on_rank_zero,
                                                rank_local)
from mmprune.engine.model_access import distiller_of, student_model
from mmprune.engine.runner_rebuild import (ema_hooks, parameter_names,
                                           rebind_optimizer,
                                           refresh_averaged_model,
                                           rewrap_model)
from mmprune.models.builder import build_model_from
from mmprune.models.distillers import Distiller
from mmprune.registry import HOOKS
from mmprune.utils.device import device_name
from mmprune.utils.input_size import check_input_shape

HOOK_OPTIONS = ('prune_at', 'sparse_training', 'input_shape',
                'measure_latency', 'latency_runs')


def _name(key: str) -> str:
    return f'StructuredPruningHook: {key}'


@HOOKS.register_module()
class StructuredPruningHook(Hook):
    """Prune channels of the model being trained, then let training
    finetune it.

    Args:
        **pruning: the pruning options, checked when the hook is built:
            ``method``, ``ratio`` | ``speed_up`` | ``latency_speed_up`` |
            ``layer_ratios``, ``latency_runtime``, ``latency_rounds``,
            ``round_to``, ``max_layer_ratio``, ``ignored``, ``protected``,
            ``global_pruning``, ``max_steps``, ``gradient_batches``,
            ``strict_target``, ``allocation``; see
            :class:`mmprune.core.structured.PruningOptions`. The gradient
            criteria draw ``gradient_batches`` batches of the train
            dataloader.
        prune_at: training iterations before which to prune; ``(0, )`` is
            one shot before finetuning; several points prune iteratively,
            each reaching its share of the target (``k/n`` of the ratio,
            ``speed_up ** (k/n)``, ``latency_speed_up ** (k/n)`` measured
            against the unpruned model), with finetuning in between.
        sparse_training: ``dict(iters, reg, schedule, update_interval)``:
            for ``slim``, ``group_slim``, ``group_sl`` and ``growing_reg``,
            ``iters`` iterations before each prune point add the method's
            sparsity penalty (strength ``reg``, ``constant`` or ``linear``
            from 0) to the gradients before each optimizer step.
        input_shape: (H, W) of the synthetic image for FLOPs and latency;
            default: the size of a training batch.
        measure_latency, latency_runs: measured latency before and after,
            in PyTorch and ONNX Runtime (median of ``latency_runs``); also
            the runs of each measurement of a ``latency_speed_up`` target.

    With neither ``ratio``, ``speed_up`` nor ``layer_ratios`` the hook only
    rebuilds the pruned structure from checkpoints (to finetune or test the
    output of ``tools/prune.py``). Checkpoints carry the structure under
    ``'pruning'`` as plain data; loading one (``load_from``, ``--resume``,
    ``tools/test.py``) prunes the freshly built model the same way first.
    Writes ``pruning_results.json`` and ``pruning_channels.png`` in the
    work dir.

    With a ``mmprune.Distiller`` as the model, its student is pruned. A
    Distiller without ``teacher_config`` and ``teacher_checkpoint`` gets
    the student as training starts (the weights of ``load_from``) as its
    frozen teacher, saved in the run's checkpoints under
    ``'distill_teacher'`` for ``--resume``; after each prune point the
    adapters are sized for the pruned widths and join the optimizer.
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
        # Everything checkable without the model fails here, when the
        # runner builds its hooks.
        try:
            self.options = PruningOptions.from_dict(
                pruning, 'pruning options (known hook options: '
                f'{", ".join(HOOK_OPTIONS)})')
            self.schedule = PruningSchedule(prune_at, self.options)
            self.sparse = SparseTrainingPhase.from_config(
                sparse_training, self.options.method, prune_at)
        except ValueError as e:
            raise ValueError(_name(str(e))) from None
        if input_shape is not None and (len(input_shape) != 2
                                        or any(not isinstance(x, int) or x < 1
                                               for x in input_shape)):
            raise ValueError(
                _name(f'input_shape = {input_shape}: (H, W), '
                      'two positive integers'))
        if not isinstance(latency_runs, int) or latency_runs < 1:
            raise ValueError(
                _name(f'latency_runs = {latency_runs}: must '
                      'be an integer >= 1'))
        self.restore_only = not self.options.has_target
        self.method = self.options.method
        self.input_shape = input_shape
        self.measure_latency = measure_latency
        self.latency_runs = latency_runs
        # the structure of the model, as checkpoints carry it
        self.structure = PrunedStructure(method=self.method)
        self.report: Optional[PruningReport] = None
        self._batches = None
        self._iter = 0
        # the unpruned model a latency target is measured against
        self._unpruned: Optional[torch.nn.Module] = None

    # -- checks against the model, before any work -----------------------
    def before_run(self, runner) -> None:
        if self.restore_only:
            return
        # a Distiller's student is pruned; its teacher and adapters follow
        # (see before_train and _after_structure_change)
        try:
            check_input_shape(runner.cfg.model, self.input_shape,
                              'input_shape')
            model = student_model(runner.model)
            self.options.check_model(model)
            check_something_to_prune(model, self.options)
        except ValueError as e:
            raise ValueError(_name(str(e))) from None

    # -- data --------------------------------------------------------------
    def _batch(self, runner, model) -> dict:
        """A preprocessed batch from the runner's train dataloader config
        (its own loader, so the training iterator is not disturbed)."""
        if self._batches is None:
            self._batches = train_batches(runner.cfg, model)
        return next(self._batches)

    # -- training ----------------------------------------------------------
    def before_train(self, runner) -> None:
        distiller = distiller_of(runner.model)
        if distiller is not None and distiller.teacher_waits_for_student:
            # after load_or_resume: the weights in load_from, unpruned
            distiller.take_teacher_from_student()
            runner.logger.info(
                'StructuredPruningHook: the distillation teacher is the '
                'student as training starts (unpruned, frozen)')
        if self.sparse is not None:
            runner.optim_wrapper.optimizer.register_step_pre_hook(
                lambda *args, **kwargs: self._regularize(runner))

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
        if self.restore_only or not self.structure.done or not outputs:
            return
        loss = outputs.get('loss') if isinstance(outputs, dict) else None
        if loss is not None and not bool(
                torch.isfinite(torch.as_tensor(loss)).all()):
            raise FloatingPointError(
                _name(f'the training loss is {float(loss)} at iteration '
                      f'{runner.iter + 1}, after the prune point at '
                      f'{self.structure.done[-1]}: training diverged. Lower '
                      'the learning rate of the finetune, or prune less '
                      'at once (a smaller target, or more prune points)'))

    def _regularize(self, runner) -> None:
        model = student_model(runner.model)

        def inputs():
            ignored, _ = kept_layers(model, self.options.protected,
                                     self.options.ignored,
                                     not self.options.prune_stem)
            modules = dict(model.named_modules())
            return (self._batch(runner, model), [modules[n] for n in ignored])

        started = self.sparse.regularize(model, self._iter,
                                         self.structure.done, inputs)
        if started is not None:
            runner.logger.info(
                f'StructuredPruningHook: sparse training ({self.method}, '
                f'reg {self.sparse.reg}, {self.sparse.schedule}) until '
                f'iteration {started}')

    def _prune(self, runner, k: int) -> None:
        model = student_model(runner.model)
        data = self._batch(runner, model)
        shape = tuple(self.input_shape or data['inputs'].shape[-2:])

        def flops(m) -> float:
            return module_breakdown(m, shape).total_flops

        flops_now = flops(model)
        if self.report is None:
            self.structure.widths = layer_widths(model)
            self.report = self._start_report(runner, model, shape, flops_now)
        if self.measure_latency:
            self._unpruned_reference(runner, model)  # before it is pruned
        p = self.schedule.prune_at[k - 1]
        target = self.schedule.step_target(k, self.report.flops_before,
                                           flops_now)
        step = self.schedule.step_options(target)
        if self.schedule.already_met(target):
            runner.logger.info(f'StructuredPruningHook: iteration {p}: the '
                               'FLOPs target of this step is already met')
            self.structure.done.append(p)
            return
        names = parameter_names(runner.model)

        def decide() -> dict:
            # gradient criteria rank channels, a sensitivity allocation
            # measures the loss, on gradient_batches batches
            grads = ([
                self._batch(runner, model)
                for _ in range(self.options.gradient_batches)
            ] if self.options.criterion.needs_gradients
                     or self.options.allocation != 'uniform' else None)
            result = prune_model(
                model,
                data,
                step,
                gradient_data=grads,
                # a sensitivity allocation ranks blocks by the FLOPs they
                # save, for a latency target too
                flops_fn=(flops if 'speed_up' in target
                          or self.options.allocation != 'uniform' else None),
                latency_fn=latency_measure(
                    self.options.latency_runtime,
                    shape,
                    runs=self.latency_runs),
                latency_reference=self._latency_reference(runner, model),
                round_to_fn=round_to_measure(self.options.latency_runtime,
                                             shape))
            return dataclasses.asdict(result)

        payload = decide_on_rank_zero(decide, model, data)
        self.structure.history.extend(payload['history'])
        self.structure.done.append(p)
        if get_dist_info()[1] > 1:
            digests = check_ranks_agree(self.structure.history, model)
            runner.logger.info(
                'StructuredPruningHook: pruned structure identical on all '
                f'{len(digests)} ranks (digest {digests[0]})')
        if self.sparse is not None:
            self.sparse.structure_changed()
        self._after_structure_change(runner, names, data, payload['history'])
        self._add_prune_point(runner, model, shape, flops(model), p, target,
                              payload)

    def _latency_reference(self, runner, model) -> Optional[torch.nn.Module]:
        """The unpruned model every prune point's latency target is
        measured against (each reaches its share of the whole target)."""
        if self.options.latency_speed_up is None:
            return None
        return self._unpruned_reference(runner, model)

    def _unpruned_reference(self, runner, model) -> torch.nn.Module:
        """The unpruned model, for latency measured beside the pruned one:
        a copy taken before the first prune point or, in a run resumed
        after it, the unpruned architecture built again from the config
        (latency does not depend on the weights)."""
        if self._unpruned is None:
            if not self.structure.history:
                self._unpruned = copy.deepcopy(model)
            else:
                cfg = runner.cfg.copy()
                if cfg.model.get('type') in ('mmprune.Distiller', 'Distiller'):
                    cfg.model = cfg.model.student
                self._unpruned = build_model_from(cfg).to(
                    next(model.parameters()).device)
        return self._unpruned

    def _after_structure_change(self, runner, names: Dict[int, str],
                                data: dict, new_history: list) -> None:
        distiller = distiller_of(runner.model)
        if distiller is not None:
            with rank_local():
                refitted = distiller.fit_adapters()
            if refitted:
                runner.logger.info(
                    'StructuredPruningHook: distillation adapters sized for '
                    f'the pruned student: {", ".join(refitted)}')
        dropped = rebind_optimizer(runner.optim_wrapper, names, runner.model)
        for hook in ema_hooks(runner):
            # prune the EMA copy the same way, keeping its averages
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
            runner.logger.info(
                f'StructuredPruningHook: optimizer state of {dropped} pruned '
                'parameters reset (their channels changed)')

    # -- report ------------------------------------------------------------
    def _latency(self, model, shape) -> Optional[dict]:
        """Per runtime (PyTorch, ONNX Runtime) latency stats, or None."""
        if not self.measure_latency:
            return None
        return runtime_latencies(model, shape, runs=self.latency_runs)

    def _paired_latency(self, report: PruningReport, model,
                        shape) -> Optional[dict]:
        """The pruned model's latency timed beside the unpruned one (see
        :meth:`PruningReport.paired_latency_after`)."""
        if not self.measure_latency:
            return None
        return report.paired_latency_after(self._unpruned, model,
                                           self.options.latency_rounds,
                                           self.latency_runs)

    def _start_report(self, runner, model, shape,
                      flops: float) -> PruningReport:
        device = next(model.parameters()).device
        return PruningReport.start(
            model,
            shape,
            flops,
            self._latency(model, shape),
            config=runner.cfg.filename,
            method=self.method,
            target=self.options.target,
            round_to=self.options.round_to,
            prune_at=self.schedule.prune_at,
            sparse_training=self.sparse and self.sparse.config,
            device=device_name(device))

    def _add_prune_point(self, runner, model, shape, flops: float, p: int,
                         target: dict, payload: dict) -> None:
        result = StructuredPruningResult(**payload)
        report = self.report
        report.add_prune_point(p, target, result, model,
                               self.structure.widths, flops,
                               self._paired_latency(report, model, shape))
        report.target_reached = self.schedule.target_reached(
            self.structure.done, report.speed_up, report.events)
        self.structure.report = report.to_dict()
        if result.allocation:
            runner.logger.info(
                'StructuredPruningHook: sensitivity-allocated layer_ratios '
                f'{result.allocation["layer_ratios"]}')
        runner.logger.info(
            report.summary(f'StructuredPruningHook: pruned at iteration {p} '
                           f'({self.method}, {target})'))
        if not result.target_reached:
            runner.logger.warning(
                f'StructuredPruningHook: the target of iteration {p} '
                f'({target}) was NOT REACHED: {result.limit}')
        if get_dist_info()[0] == 0:
            out = report.write(runner.work_dir)
            runner.logger.info(f'pruning report: {out}')
        if not result.target_reached and self.options.strict_target:
            raise TargetNotReachedError(
                _name(f'the target of prune point {p} ({target}) was not '
                      f'reached: {result.limit} (strict_target=True)'))

    # -- checkpoints -------------------------------------------------------
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
            runner.logger.info('StructuredPruningHook: the distillation '
                               'teacher restored from the checkpoint')
        record = PrunedStructure.from_checkpoint(
            checkpoint, 'the checkpoint being loaded')
        if record is None:
            return
        history, known = record.history, self.structure.history
        if history[:len(known)] != known:
            raise ValueError(
                _name('the checkpoint being loaded was pruned differently '
                      'from the model in this run (its pruning history does '
                      'not extend this one)'))
        new = history[len(known):]
        if new:
            model = student_model(runner.model)
            names = parameter_names(runner.model)
            data = self._batch(runner, model)
            with rank_local():
                replay_pruning_history(model, data, new)
            self.structure.history = history
            if self.sparse is not None:
                self.sparse.structure_changed()
            self._after_structure_change(runner, names, data, new)
            runner.logger.info(
                'StructuredPruningHook: rebuilt the pruned structure from '
                f'the checkpoint ({len(history)} pruned groups): '
                f'{sum(p.numel() for p in model.parameters()) / 1e6:.3f}M '
                'params')
        self.structure.done = sorted(
            set(self.structure.done) | set(record.done))
        if self.report is None and record.report:
            self.structure.report = record.report
            self.report = PruningReport.from_dict(record.report)
            self.structure.widths = record.widths
