"""``StructuredPruningHook``: structured channel pruning inside a training
run (one shot or iterative, optionally after a sparse-training phase), with
the pruned structure carried by checkpoints."""
import contextlib
import copy
import hashlib
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_dist_info)
from mmengine.hooks import Hook

from mmprune.analysis import module_breakdown, plot_layer_channels
from mmprune.analysis.latency import (latency_line, latency_measure,
                                      latency_speed_ups, runtime_latencies)
from mmprune.apis.train_batches import train_batches
from mmprune.core.structured import (PruningOptions, TargetNotReachedError,
                                     get_pruning_method)
from mmprune.core.structured.iterative_targets import (step_layer_ratios,
                                                       step_ratio,
                                                       step_speed_up)
from mmprune.core.structured.prune import (kept_layers, layer_changes,
                                           layer_widths, prune_model)
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_history import replay_pruning_history
from mmprune.core.structured.sparse_regularizer import (
    SCHEDULES, SparseRegularizer, regularization_strength)
from mmprune.engine.model_access import student_model, unwrapped
from mmprune.engine.runner_rebuild import (ema_hooks, parameter_names,
                                           rebind_optimizer,
                                           refresh_averaged_model,
                                           rewrap_model)
from mmprune.models.distillers import Distiller
from mmprune.registry import HOOKS
from mmprune.utils import dump_json_atomic

@contextlib.contextmanager
def rank_local() -> Iterator[None]:
    """Run what only this rank does (rank 0 choosing channels, another
    rank replaying them) as a single-process computation: mmdet's losses
    all-reduce their normalisers whenever a process group exists
    (``reduce_mean``), and a loss run on one rank alone would wait forever
    for the others."""
    original = torch.distributed.is_initialized
    torch.distributed.is_initialized = lambda: False
    try:
        yield
    finally:
        torch.distributed.is_initialized = original


SPARSE_TRAINING_KEYS = ('iters', 'reg', 'schedule', 'update_interval')


def _name(key: str) -> str:
    return f'StructuredPruningHook: {key}'


@HOOKS.register_module()
class StructuredPruningHook(Hook):
    """Prune channels of the model being trained, then let training
    finetune it.

    Args:
        **pruning: the pruning options, checked when the hook is built:
            ``method``, ``ratio`` | ``speed_up`` | ``layer_ratios``,
            ``round_to``, ``max_layer_ratio``, ``ignored``, ``protected``,
            ``global_pruning``, ``max_steps``, ``gradient_batches``,
            ``strict_target``, ``allocation``; see
            :class:`mmprune.core.structured.PruningOptions`. The gradient
            criteria draw ``gradient_batches`` batches of the train
            dataloader.
        prune_at: training iterations before which to prune; ``(0, )`` is
            one shot before finetuning; several points prune iteratively,
            each reaching its share of the target (``k/n`` of the ratio,
            ``speed_up ** (k/n)``), with finetuning in between.
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
                pruning, 'pruning options (known hook options: prune_at, '
                'sparse_training, input_shape, measure_latency, '
                'latency_runs)')
        except ValueError as e:
            raise ValueError(_name(str(e))) from None
        self.restore_only = not self.options.has_target
        prune_at = list(prune_at)
        if not prune_at or any(not isinstance(i, int) or i < 0
                               for i in prune_at) or \
                prune_at != sorted(set(prune_at)):
            raise ValueError(_name(
                f'prune_at = {prune_at}: must be increasing iterations >= 0'))
        if self.options.allocation == 'sensitivity' and len(prune_at) > 1:
            raise ValueError(_name(
                f"allocation='sensitivity' with prune_at = {prune_at}: the "
                'ratios are chosen for one prune point (give one '
                'iteration)'))
        if self.options.latency_speed_up is not None and len(prune_at) > 1:
            raise ValueError(_name(
                f'latency_speed_up with prune_at = {prune_at}: a measured '
                'latency target is reached in one prune point (give one '
                'iteration, or use speed_up for iterative pruning)'))
        self.sparse = self._check_sparse_training(
            sparse_training, self.options.method, prune_at)
        if input_shape is not None and (
                len(input_shape) != 2 or
                any(not isinstance(x, int) or x < 1 for x in input_shape)):
            raise ValueError(_name(f'input_shape = {input_shape}: (H, W), '
                                   'two positive integers'))
        if not isinstance(latency_runs, int) or latency_runs < 1:
            raise ValueError(_name(f'latency_runs = {latency_runs}: must '
                                   'be an integer >= 1'))
        self.method = self.options.method
        self.pm = get_pruning_method(self.method)
        self.prune_at = prune_at
        self.input_shape = input_shape
        self.measure_latency = measure_latency
        self.latency_runs = latency_runs
        # the structure of the model, as checkpoints carry it
        self.structure = PrunedStructure(method=self.method)
        self._batches = None
        self._regularizer: Optional[SparseRegularizer] = None
        self._iter = 0

    @property
    def history(self) -> List[list]:
        return self.structure.history

    @property
    def done(self) -> List[int]:
        return self.structure.done

    @property
    def _report(self) -> Optional[dict]:
        return self.structure.report

    @staticmethod
    def _check_sparse_training(cfg: Optional[dict], method: str,
                               prune_at: List[int]) -> Optional[dict]:
        if cfg is None:
            return None
        unknown = set(cfg) - set(SPARSE_TRAINING_KEYS)
        if unknown:
            raise ValueError(_name(
                f'sparse_training has unknown keys {sorted(unknown)}; known: '
                f'{", ".join(SPARSE_TRAINING_KEYS)}'))
        if get_pruning_method(method).sparse_training is None:
            raise ValueError(_name(
                f'sparse_training is given but method {method!r} has no '
                'sparse-training phase (slim, group_slim, group_sl, '
                'growing_reg do)'))
        cfg = dict(dict(iters=100, reg=1e-4, schedule='constant',
                        update_interval=10), **cfg)
        if cfg['iters'] < 1 or cfg['reg'] <= 0 or \
                cfg['update_interval'] < 1:
            raise ValueError(_name(
                f'sparse_training = {cfg}: iters and update_interval must '
                'be >= 1 and reg > 0'))
        if cfg['schedule'] not in SCHEDULES:
            raise ValueError(_name(
                f'sparse_training.schedule = {cfg["schedule"]!r}: must be '
                f'one of {SCHEDULES}'))
        starts = [0] + prune_at[:-1]
        for start, p in zip(starts, prune_at):
            if p - cfg['iters'] < start:
                raise ValueError(_name(
                    f'prune_at = {prune_at}: sparse training needs '
                    f'{cfg["iters"]} iterations before prune point {p} (and '
                    'after the previous one)'))
        return cfg

    # -- checks against the model, before any work -----------------------
    def before_run(self, runner) -> None:
        if self.restore_only:
            return
        # a Distiller's student is pruned; its teacher and adapters follow
        # (see before_train and _after_structure_change)
        model = student_model(runner.model)
        try:
            self.options.check_model(model)
        except ValueError as e:
            raise ValueError(_name(str(e))) from None

    # -- data --------------------------------------------------------------
    def _batch(self, runner, model) -> dict:
        """A preprocessed batch from the runner's train dataloader config
        (its own loader, so the training iterator is not disturbed)."""
        if self._batches is None:
            self._batches = train_batches(runner.cfg, model)
        return next(self._batches)

    def _shape(self, data: dict) -> Tuple[int, int]:
        if self.input_shape is not None:
            return tuple(self.input_shape)
        return tuple(data['inputs'].shape[-2:])

    # -- training ----------------------------------------------------------
    def before_train(self, runner) -> None:
        distiller = self._distiller(runner)
        if distiller is not None and distiller.teacher_waits_for_student:
            # after load_or_resume: the weights in load_from, unpruned
            distiller.take_teacher_from_student()
            runner.logger.info(
                'StructuredPruningHook: the distillation teacher is the '
                'student as training starts (unpruned, frozen)')
        if self.sparse is not None:
            optimizer = runner.optim_wrapper.optimizer
            optimizer.register_step_pre_hook(
                lambda *args, **kwargs: self._regularize(runner))

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._iter = runner.iter
        if self.restore_only:
            return
        for k, p in enumerate(self.prune_at, 1):
            if p == runner.iter and p not in self.done:
                self._prune(runner, k)

    def _window(self) -> Optional[int]:
        """The prune point whose sparse-training phase holds now."""
        for p in self.prune_at:
            if p not in self.done and \
                    p - self.sparse['iters'] <= self._iter < p:
                return p
        return None

    def _regularize(self, runner) -> None:
        p = self._window()
        if p is None:
            return
        model = student_model(runner.model)
        if self._regularizer is None:
            ignored, _ = kept_layers(model, self.options.protected,
                                     self.options.ignored)
            modules = dict(model.named_modules())
            self._regularizer = SparseRegularizer(
                model, self._batch(runner, model), self.method,
                self.sparse['reg'], [modules[n] for n in ignored],
                self.sparse['update_interval'])
            model.train()
            runner.logger.info(
                f'StructuredPruningHook: sparse training ({self.method}, reg '
                f'{self.sparse["reg"]}, {self.sparse["schedule"]}) until '
                f'iteration {p}')
        start = p - self.sparse['iters']
        strength = regularization_strength(
            self.sparse['reg'], self.sparse['schedule'],
            (self._iter - start + 1) / self.sparse['iters'])
        self._regularizer.regularize(model, strength)

    def _step_target(self, k: int, flops_now: float) -> dict:
        n = len(self.prune_at)
        opts = self.options
        if opts.latency_speed_up is not None:  # one prune point
            return dict(latency_speed_up=opts.latency_speed_up)
        if opts.speed_up is not None:
            return dict(speed_up=step_speed_up(
                opts.speed_up, k, n, self._report['flops_before'], flops_now))
        ratio = opts.ratio if opts.ratio is not None else 0.0
        return dict(ratio=step_ratio(ratio, k, n),
                    layer_ratios=step_layer_ratios(opts.layer_ratios, k, n))

    def _prune(self, runner, k: int) -> None:
        model = student_model(runner.model)
        data = self._batch(runner, model)
        shape = self._shape(data)

        def flops(m) -> float:
            return module_breakdown(m, shape).total_flops

        rank, world = get_dist_info()
        flops_now = flops(model)
        if self._report is None:
            self._start_report(runner, model, shape, flops_now)
        target = self._step_target(k, flops_now)
        p = self.prune_at[k - 1]
        if target.get('speed_up', 2.0) <= 1.0 + 1e-6:
            runner.logger.info(f'StructuredPruningHook: iteration {p}: the '
                               'FLOPs target of this step is already met')
            self.done.append(p)
            return
        names = parameter_names(runner.model)
        payload = None
        if rank == 0:
            # gradient criteria rank channels, a sensitivity allocation
            # measures the loss, on gradient_batches batches
            grads = ([self._batch(runner, model)
                      for _ in range(self.options.gradient_batches)]
                     if self.pm.needs_gradients or
                     self.options.allocation == 'sensitivity' else None)
            step_options = self.options.replace(
                ratio=target.get('ratio'), speed_up=target.get('speed_up'),
                latency_speed_up=target.get('latency_speed_up'),
                layer_ratios=target.get('layer_ratios') or {},
                strict_target=False)
            with rank_local():
                result = prune_model(
                    model, data, step_options, gradient_data=grads,
                    flops_fn=flops if 'speed_up' in target else None,
                    latency_fn=latency_measure(
                        self.options.latency_runtime, shape,
                        runs=self.latency_runs))
            payload = dict(history=result.history, skipped=result.skipped,
                           steps=result.steps,
                           target_reached=result.target_reached,
                           limit=result.limit,
                           target_latency_ms=[result.latency_before,
                                              result.latency_after],
                           allocation=result.allocation)
        if world > 1:
            # rank 0 decides and every rank replays the same channels:
            # gradient and random criteria would differ between ranks
            box = [payload]
            broadcast_object_list(box, src=0)
            payload = box[0]
            if rank != 0:
                with rank_local():
                    replay_pruning_history(model, data, payload['history'])
        self.history.extend(payload['history'])
        self.done.append(p)
        if world > 1:
            self._check_ranks_agree(runner, model)
        self._regularizer = None  # its groups are those of the old model
        self._after_structure_change(runner, names, data, payload['history'])
        self._update_report(runner, model, shape, flops(model), p, target,
                            payload)
        if not payload['target_reached'] and self.options.strict_target:
            raise TargetNotReachedError(_name(
                f'the target of prune point {p} ({target}) was not '
                f'reached: {payload["limit"]} (strict_target=True)'))

    def _check_ranks_agree(self, runner, model) -> None:
        """Every rank must hold the same pruned structure (same history,
        same widths); a difference stops the run here, not later in DDP."""
        digest = hashlib.sha1(json.dumps(
            [self.history, sorted(layer_widths(model).items())]).encode()
        ).hexdigest()[:12]
        digests = all_gather_object(digest)
        if len(set(digests)) != 1:
            raise RuntimeError(_name(
                f'ranks pruned differently (structure digests {digests})'))
        runner.logger.info(
            f'StructuredPruningHook: pruned structure identical on all '
            f'{len(digests)} ranks (digest {digest})')

    @staticmethod
    def _distiller(runner) -> Optional[Distiller]:
        model = unwrapped(runner.model)
        return model if isinstance(model, Distiller) else None

    def _after_structure_change(self, runner, names: Dict[int, str],
                                data: dict, new_history: list) -> None:
        distiller = self._distiller(runner)
        if distiller is not None:
            with rank_local():
                refitted = distiller.fit_adapters()
            if refitted:
                runner.logger.info(
                    'StructuredPruningHook: distillation adapters sized for '
                    f'the pruned student: {", ".join(refitted)}')
        dropped = rebind_optimizer(runner.optim_wrapper, names,
                                   runner.model)
        for hook in ema_hooks(runner):
            # prune the EMA copy the same way, keeping its averages
            with rank_local():
                replay_pruning_history(student_model(hook.ema_model.module),
                                       data, new_history)
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

    def _start_report(self, runner, model, shape, flops: float) -> None:
        device = next(model.parameters()).device
        self.structure.widths = layer_widths(model)
        self.structure.report = dict(
            config=runner.cfg.filename, method=self.method,
            target=self.options.target,
            round_to=self.options.round_to, prune_at=self.prune_at,
            sparse_training=self.sparse, input_shape=list(shape),
            device=(torch.cuda.get_device_name(device)
                    if device.type == 'cuda' else 'cpu'),
            params_before=sum(p.numel() for p in model.parameters()),
            flops_before=flops, events=[])
        latency = self._latency(model, shape)
        self.structure.report.update(
            latency_before=latency,
            latency_ms_before=latency and latency['torch']['median_ms'])

    def _update_report(self, runner, model, shape, flops: float, p: int,
                       target: dict, payload: dict) -> None:
        r = self._report
        r.update(
            params_after=sum(q.numel() for q in model.parameters()),
            flops_after=flops, speed_up=r['flops_before'] / flops,
            layers=layer_changes(model, self.structure.widths),
            skipped=payload['skipped'])
        r['events'].append(dict(iter=p, target=target, steps=payload['steps'],
                                target_reached=payload['target_reached'],
                                limit=payload['limit'],
                                params=r['params_after'], flops=flops,
                                target_latency_ms=payload.get(
                                    'target_latency_ms')))
        r['target_reached'] = self._final_target_reached(r)
        if payload.get('allocation'):
            # the per-block ratios chosen by sensitivity, and why
            r['allocation'] = payload['allocation']
            runner.logger.info(
                'StructuredPruningHook: sensitivity-allocated layer_ratios '
                f'{payload["allocation"]["layer_ratios"]}')
        latency = self._latency(model, shape)
        r.update(latency_after=latency,
                 latency_ms_after=latency and latency['torch']['median_ms'])
        if r.get('latency_before') and latency:
            r['latency_speed_ups'] = latency_speed_ups(r['latency_before'],
                                                       latency)
            r['latency_speed_up'] = r['latency_speed_ups']['torch']
        lat = (latency_line(r['latency_before'], latency)
               if latency and r.get('latency_before') else 'not measured')
        narrowed = sum(1 for x in r['layers']
                       if x['out_after'] < x['out_before'])
        runner.logger.info(
            f'StructuredPruningHook: pruned at iteration {p} ({self.method}, '
            f'{target}): params {r["params_before"] / 1e6:.3f}M -> '
            f'{r["params_after"] / 1e6:.3f}M, FLOPs '
            f'{r["flops_before"] / 1e9:.3f}G -> {flops / 1e9:.3f}G '
            f'({r["speed_up"]:.2f}x) at {shape[0]}x{shape[1]}, latency '
            f'{lat}, '
            f'{narrowed} layers narrowed, {len(r["skipped"])} kept '
            '(see skipped in the report)')
        if not payload['target_reached']:
            runner.logger.warning(
                f'StructuredPruningHook: the target of iteration {p} '
                f'({target}) was NOT REACHED: {payload["limit"]}')
        if get_dist_info()[0] != 0:
            return
        out = osp.join(runner.work_dir, 'pruning_results.json')
        dump_json_atomic(r, out)
        plot_layer_channels(
            r['layers'], osp.join(runner.work_dir, 'pruning_channels.png'),
            title=f'{self.method}: {r["speed_up"]:.2f}x fewer FLOPs')
        runner.logger.info(f'pruning report: {out}')

    def _final_target_reached(self, report: dict) -> Optional[bool]:
        """Whether the whole target is met: every step's, and for a
        ``speed_up`` the overall FLOPs reduction (None until the last
        prune point)."""
        if len(self.done) < len(self.prune_at):
            return None
        if self.options.speed_up is not None:
            return report['speed_up'] >= self.options.speed_up * (1 - 1e-6)
        return all(e.get('target_reached', True) for e in report['events'])

    # -- checkpoints -------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.history or self.done:
            self.structure.to_checkpoint(checkpoint)
        distiller = self._distiller(runner)
        if distiller is not None:
            distiller.teacher_to_checkpoint(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        distiller = self._distiller(runner)
        if distiller is not None and \
                distiller.teacher_from_checkpoint(checkpoint):
            runner.logger.info('StructuredPruningHook: the distillation '
                               'teacher restored from the checkpoint')
        record = PrunedStructure.from_checkpoint(checkpoint,
                                                 'the checkpoint being loaded')
        if record is None:
            return
        history = record.history
        if history[:len(self.history)] != self.history:
            raise ValueError(_name(
                'the checkpoint being loaded was pruned differently from the '
                'model in this run (its pruning history does not extend '
                'this one)'))
        new = history[len(self.history):]
        if new:
            model = student_model(runner.model)
            names = parameter_names(runner.model)
            data = self._batch(runner, model)
            with rank_local():
                replay_pruning_history(model, data, new)
            self.structure.history = history
            self._regularizer = None
            self._after_structure_change(runner, names, data, new)
            runner.logger.info(
                'StructuredPruningHook: rebuilt the pruned structure from '
                f'the checkpoint ({len(history)} pruned groups): '
                f'{sum(p.numel() for p in model.parameters()) / 1e6:.3f}M '
                'params')
        self.structure.done = sorted(set(self.done) | set(record.done))
        if self._report is None and record.report:
            self.structure.report = record.report
            self.structure.widths = record.widths
