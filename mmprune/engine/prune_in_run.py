"""One prune point of a training run: ``prune_model`` decided on rank 0
and applied alike on every rank, the pruned structure checked identical
across ranks."""
import dataclasses
import os.path as osp
from typing import Callable, Optional

import torch.nn as nn
from mmengine.dist import get_dist_info

from mmprune.core.structured import PruningOptions
from mmprune.core.structured.prune import prune_model
from .distributed_pruning import check_ranks_agree, decide_on_rank_zero


def prune_in_run(runner, model: nn.Module, data: dict, step: PruningOptions,
                 next_batch: Callable[[], dict], measures: dict,
                 latency_reference: Optional[nn.Module], history: list,
                 who: str) -> dict:
    """Prune ``model`` (the runner's student) to ``step``'s target, with
    ``measures`` (:meth:`PruningMeter.prune_kwargs`); gradient criteria
    and sensitivity allocation draw ``gradient_batches`` batches from
    ``next_batch``. Extends ``history`` (the run's pruning history) and
    returns the result as a dict; ``who`` prefixes the log line. A
    sensitivity scan keeps its points in the work dir, so a run restarted
    on the same batches resumes it."""

    def decide() -> dict:
        needs_batches = step.criterion.needs_gradients or \
            step.allocation != 'uniform'
        grads = [next_batch() for _ in range(step.gradient_batches)
                 ] if needs_batches else None
        result = prune_model(
            model,
            data,
            step,
            gradient_data=grads,
            latency_reference=latency_reference,
            sensitivity_cache=osp.join(runner.work_dir, 'sensitivity_scans'),
            **measures)
        return dataclasses.asdict(result)

    payload = decide_on_rank_zero(decide, model, data)
    history.extend(payload['history'])
    if get_dist_info()[1] > 1:
        digests = check_ranks_agree(history, model)
        runner.logger.info(
            f'{who}: pruned structure identical on all {len(digests)} ranks '
            f'(digest {digests[0]})')
    return payload
