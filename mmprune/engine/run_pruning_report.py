"""The pruning report of a training run: started at its first prune point,
one entry per point (with the latency timed beside the unpruned model),
logged, written to the work dir on rank 0, and the strict target
enforced. ``StructuredPruningHook`` keeps one."""
from typing import Optional

import torch.nn as nn
from mmengine.dist import get_dist_info

from mmprune.analysis.latency import runtime_latencies
from mmprune.analysis.pruning_report import PruningReport
from mmprune.core.structured import (PruningOptions, StructuredPruningResult,
                                     TargetNotReachedError)
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.core.structured.pruning_schedule import PruningSchedule
from mmprune.utils.device import device_name


class RunPruningReport:
    """Args: the hook's options, schedule and sparse-training phase (or
    None), whether (and with how many runs) latency is measured, and
    ``who`` to prefix the log lines and errors with."""

    def __init__(self, options: PruningOptions, schedule: PruningSchedule,
                 sparse, measure_latency: bool, latency_runs: int,
                 who: str) -> None:
        self.who = who
        self.options, self.schedule, self.sparse = options, schedule, sparse
        self.measure_latency = measure_latency
        self.latency_runs = latency_runs
        self.report: Optional[PruningReport] = None

    def start(self, runner, model: nn.Module, shape, flops: float) -> None:
        latency = runtime_latencies(
            model, shape,
            runs=self.latency_runs) if self.measure_latency else None
        self.report = PruningReport.start(
            model,
            shape,
            flops,
            latency,
            config=runner.cfg.filename,
            method=self.options.method,
            target=self.options.target,
            round_to=self.options.round_to,
            prune_at=self.schedule.prune_at,
            sparse_training=self.sparse and self.sparse.config,
            device=device_name(next(model.parameters()).device))

    def restore(self, record: PrunedStructure) -> None:
        """Continue the report a checkpoint carries (a resumed run)."""
        if self.report is None and record.report:
            self.report = PruningReport.from_dict(record.report)

    def add_prune_point(self, runner, model: nn.Module,
                        unpruned: Optional[nn.Module], flops: float, p: int,
                        target: dict, payload: dict,
                        structure: PrunedStructure) -> None:
        """Record prune point ``p`` (``payload``: the result as a dict),
        log it, write the report, and raise if a strict target was
        missed."""
        result = StructuredPruningResult(**payload)
        report = self.report
        paired = None
        if self.measure_latency:
            paired = report.paired_latency_after(unpruned, model,
                                                 self.options.latency_rounds,
                                                 self.latency_runs)
        report.add_prune_point(p, target, result, model, structure.widths,
                               flops, paired)
        report.target_reached = self.schedule.target_reached(
            structure.done, report.speed_up, report.events)
        structure.report = report.to_dict()
        if result.allocation:
            runner.logger.info(
                f'{self.who}: sensitivity-allocated layer_ratios '
                f'{result.allocation["layer_ratios"]}')
        runner.logger.info(
            report.summary(f'{self.who}: pruned at iteration {p} '
                           f'({self.options.method}, {target})'))
        if not result.target_reached:
            runner.logger.warning(
                f'{self.who}: the target of iteration {p} ({target}) was NOT '
                f'REACHED: {result.limit}')
        if get_dist_info()[0] == 0:
            out = report.write(runner.work_dir)
            runner.logger.info(f'pruning report: {out}')
        if not result.target_reached and self.options.strict_target:
            raise TargetNotReachedError(
                f'{self.who}: the target of prune point {p} ({target}) was '
                f'not reached: {result.limit} (strict_target=True)')
