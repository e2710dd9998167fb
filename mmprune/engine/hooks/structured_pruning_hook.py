"""``StructuredPruningHook``: structured channel pruning inside a training
run (one shot or iterative, optionally after a sparse-training phase), with
the pruned structure carried by checkpoints."""
import hashlib
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_dist_info)
from mmengine.hooks import Hook

from mmprune.analysis import (measure_latency, module_breakdown,
                              plot_layer_channels)
from mmprune.apis.train_batches import train_batches
from mmprune.core.module_patterns import check_pattern, matching_modules
from mmprune.core.structured import check_target, get_pruning_method
from mmprune.core.structured.iterative_targets import (step_layer_ratios,
                                                       step_ratio,
                                                       step_speed_up)
from mmprune.core.structured.prune import (PRUNABLE, check_pruning_options,
                                           kept_layers, layer_changes,
                                           layer_widths, prune_model)
from mmprune.core.structured.pruning_history import (check_history,
                                                     replay_pruning_history)
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

CHECKPOINT_KEY = 'pruning'
SPARSE_TRAINING_KEYS = ('iters', 'reg', 'schedule', 'update_interval')


def _name(key: str) -> str:
    return f'StructuredPruningHook: {key}'


@HOOKS.register_module()
class StructuredPruningHook(Hook):
    """Prune channels of the model being trained, then let training
    finetune it.

    Args:
        method: one of ``mmprune.core.structured.PRUNING_METHODS``.
        ratio: share of channels removed (global when ``global_pruning``);
            ``layer_ratios`` (``{pattern: ratio}``) overrides it per module
            name, first pattern wins.
        speed_up: FLOPs reduction factor instead of a ratio: pruned in up
            to ``max_steps`` equal steps until reached.
        round_to, max_layer_ratio, ignored, protected: as in
            :func:`mmprune.core.structured.prune_model`.
        gradient_batches: batches of the train dataloader whose loss
            gradients rank channels, for ``group_taylor``/``group_hessian``.
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
        measure_latency, latency_runs: measured latency before and after.

    With neither ``ratio``, ``speed_up`` nor ``layer_ratios`` the hook only
    rebuilds the pruned structure from checkpoints (to finetune or test the
    output of ``tools/prune.py``). Checkpoints carry the structure under
    ``'pruning'`` as plain data; loading one (``load_from``, ``--resume``,
    ``tools/test.py``) prunes the freshly built model the same way first.
    Writes ``pruning_results.json`` and ``pruning_channels.png`` in the
    work dir.
    """
    # after_load_checkpoint must shape the EMA copy before EMAHook (NORMAL
    # or 49 in mmdet configs) loads the checkpoint's EMA weights into it
    priority = 'HIGH'

    def __init__(self,
                 method: str = 'l1',
                 ratio: Optional[float] = None,
                 speed_up: Optional[float] = None,
                 layer_ratios: Optional[Dict[str, float]] = None,
                 round_to: Optional[int] = 8,
                 max_layer_ratio: float = 1.0,
                 ignored: Sequence[str] = (),
                 protected: Optional[Sequence[str]] = None,
                 global_pruning: bool = False,
                 max_steps: int = 20,
                 gradient_batches: int = 4,
                 prune_at: Sequence[int] = (0, ),
                 sparse_training: Optional[dict] = None,
                 input_shape: Optional[Tuple[int, int]] = None,
                 measure_latency: bool = True,
                 latency_runs: int = 10) -> None:
        # Everything checkable without the model fails here, when the
        # runner builds its hooks.
        try:
            self.pm = get_pruning_method(method)
            self.restore_only = (ratio is None and speed_up is None
                                 and not layer_ratios)
            if not self.restore_only:
                check_target(0.0 if ratio is None and layer_ratios else
                             ratio, speed_up)
            for p, r in (layer_ratios or {}).items():
                check_pattern(p, 'layer_ratios')
                check_target(r, None)
            for p in ignored:
                check_pattern(p, 'ignored')
            for p in protected or ():
                check_pattern(p, 'protected')
            check_pruning_options(max_layer_ratio, round_to)
        except ValueError as e:
            raise ValueError(_name(str(e))) from None
        if gradient_batches < 1:
            raise ValueError(_name(f'gradient_batches = {gradient_batches}'
                                   ': must be >= 1'))
        prune_at = list(prune_at)
        if not prune_at or any(not isinstance(i, int) or i < 0
                               for i in prune_at) or \
                prune_at != sorted(set(prune_at)):
            raise ValueError(_name(
                f'prune_at = {prune_at}: must be increasing iterations >= 0'))
        self.sparse = self._check_sparse_training(sparse_training, method,
                                                  prune_at)
        if input_shape is not None and len(input_shape) != 2:
            raise ValueError(_name(f'input_shape = {input_shape}: (H, W)'))
        self.method = method
        self.ratio = ratio
        self.speed_up = speed_up
        self.layer_ratios = dict(layer_ratios or {})
        self.round_to = round_to
        self.max_layer_ratio = max_layer_ratio
        self.ignored = list(ignored)
        self.protected = None if protected is None else list(protected)
        self.global_pruning = global_pruning
        self.max_steps = max_steps
        self.gradient_batches = gradient_batches
        self.prune_at = prune_at
        self.input_shape = input_shape
        self.measure_latency = measure_latency
        self.latency_runs = latency_runs
        # the structure of the model: Torch-Pruning's history, plain data
        self.history: List[list] = []
        self.done: set = set()
        self._batches = None
        self._regularizer: Optional[SparseRegularizer] = None
        self._iter = 0
        self._report: Optional[dict] = None
        # per-layer (in, out) channels of the unpruned model
        self._widths: Optional[Dict[str, tuple]] = None

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
        if isinstance(unwrapped(runner.model), Distiller):
            raise ValueError(_name(
                'the model is a Distiller: its adapters are sized for the '
                'unpruned student. Prune first (tools/prune.py or a pruning '
                'run), then distill into the pruned student.'))
        model = student_model(runner.model)
        try:
            kept_layers(model, self.protected, self.ignored)
            for p in self.layer_ratios:
                matching_modules(model, p, 'layer_ratios', PRUNABLE)
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
            ignored, _ = kept_layers(model, self.protected, self.ignored)
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
        if self.speed_up is not None:
            return dict(speed_up=step_speed_up(
                self.speed_up, k, n, self._report['flops_before'], flops_now))
        ratio = self.ratio if self.ratio is not None else 0.0
        return dict(ratio=step_ratio(ratio, k, n),
                    layer_ratios=step_layer_ratios(self.layer_ratios, k, n))

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
            self.done.add(p)
            return
        names = parameter_names(runner.model)
        payload = None
        if rank == 0:
            grads = ([self._batch(runner, model)
                      for _ in range(self.gradient_batches)]
                     if self.pm.needs_gradients else None)
            result = prune_model(
                model, data, self.method,
                round_to=self.round_to,
                max_layer_ratio=self.max_layer_ratio,
                ignored=self.ignored, protected=self.protected,
                global_pruning=self.global_pruning,
                max_steps=self.max_steps, gradient_batches=grads,
                flops_fn=flops if 'speed_up' in target else None, **target)
            payload = dict(history=result.history, skipped=result.skipped,
                           steps=result.steps)
        if world > 1:
            # rank 0 decides and every rank replays the same channels:
            # gradient and random criteria would differ between ranks
            box = [payload]
            broadcast_object_list(box, src=0)
            payload = box[0]
            if rank != 0:
                replay_pruning_history(model, data, payload['history'])
        self.history += payload['history']
        self.done.add(p)
        if world > 1:
            self._check_ranks_agree(runner, model)
        self._regularizer = None  # its groups are those of the old model
        self._after_structure_change(runner, names, data, payload['history'])
        self._update_report(runner, model, shape, flops(model), p, target,
                            payload)

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

    def _after_structure_change(self, runner, names: Dict[int, str],
                                data: dict, new_history: list) -> None:
        dropped = rebind_optimizer(runner.optim_wrapper, names,
                                   runner.model)
        for hook in ema_hooks(runner):
            # prune the EMA copy the same way, keeping its averages
            replay_pruning_history(student_model(hook.ema_model.module),
                                   data, new_history)
            refresh_averaged_model(hook.ema_model)
        rewrap_model(runner)
        student_model(runner.model).zero_grad(set_to_none=True)
        if dropped:
            runner.logger.info(
                f'StructuredPruningHook: optimizer state of {dropped} pruned '
                'parameters reset (their channels changed)')

    # -- report ------------------------------------------------------------
    def _latency(self, model, shape) -> Optional[float]:
        if not self.measure_latency:
            return None
        return measure_latency(model, shape, runs=self.latency_runs)

    def _start_report(self, runner, model, shape, flops: float) -> None:
        import torch
        device = next(model.parameters()).device
        self._widths = layer_widths(model)
        self._report = dict(
            config=runner.cfg.filename, method=self.method,
            target=dict(ratio=self.ratio, speed_up=self.speed_up,
                        layer_ratios=self.layer_ratios or None),
            round_to=self.round_to, prune_at=self.prune_at,
            sparse_training=self.sparse, input_shape=list(shape),
            device=(torch.cuda.get_device_name(device)
                    if device.type == 'cuda' else 'cpu'),
            params_before=sum(p.numel() for p in model.parameters()),
            flops_before=flops,
            latency_ms_before=self._latency(model, shape), events=[])

    def _update_report(self, runner, model, shape, flops: float, p: int,
                       target: dict, payload: dict) -> None:
        r = self._report
        r.update(
            params_after=sum(q.numel() for q in model.parameters()),
            flops_after=flops, speed_up=r['flops_before'] / flops,
            latency_ms_after=self._latency(model, shape),
            layers=layer_changes(model, self._widths),
            skipped=payload['skipped'])
        r['events'].append(dict(iter=p, target=target, steps=payload['steps'],
                                params=r['params_after'], flops=flops))
        if r['latency_ms_before'] and r['latency_ms_after']:
            r['latency_speed_up'] = (r['latency_ms_before'] /
                                     r['latency_ms_after'])
        narrowed = sum(1 for x in r['layers']
                       if x['out_after'] < x['out_before'])
        runner.logger.info(
            f'StructuredPruningHook: pruned at iteration {p} ({self.method}, '
            f'{target}): params {r["params_before"] / 1e6:.3f}M -> '
            f'{r["params_after"] / 1e6:.3f}M, FLOPs '
            f'{r["flops_before"] / 1e9:.3f}G -> {flops / 1e9:.3f}G '
            f'({r["speed_up"]:.2f}x) at {shape[0]}x{shape[1]}, latency '
            f'{r["latency_ms_before"]} -> {r["latency_ms_after"]} ms, '
            f'{narrowed} layers narrowed, {len(r["skipped"])} kept '
            '(see skipped in the report)')
        if get_dist_info()[0] != 0:
            return
        out = osp.join(runner.work_dir, 'pruning_results.json')
        dump_json_atomic(r, out)
        plot_layer_channels(
            r['layers'], osp.join(runner.work_dir, 'pruning_channels.png'),
            title=f'{self.method}: {r["speed_up"]:.2f}x fewer FLOPs')
        runner.logger.info(f'pruning report: {out}')

    # -- checkpoints -------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.history or self.done:
            # the report's baseline travels too: a resumed run measures
            # its remaining targets against the unpruned model
            checkpoint[CHECKPOINT_KEY] = dict(
                history=self.history, done=sorted(self.done),
                method=self.method, report=self._report,
                widths=self._widths)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        record = checkpoint.get(CHECKPOINT_KEY)
        if not record:
            return
        history = check_history(record.get('history', []),
                                f'checkpoint key "{CHECKPOINT_KEY}"')
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
            replay_pruning_history(model, data, new)
            self.history = history
            self._regularizer = None
            self._after_structure_change(runner, names, data, new)
            runner.logger.info(
                'StructuredPruningHook: rebuilt the pruned structure from '
                f'the checkpoint ({len(history)} pruned groups): '
                f'{sum(p.numel() for p in model.parameters()) / 1e6:.3f}M '
                'params')
        self.done |= {int(i) for i in record.get('done', [])}
        if self._report is None and record.get('report'):
            self._report = record['report']
            self._widths = {n: tuple(w)
                            for n, w in record['widths'].items()}
