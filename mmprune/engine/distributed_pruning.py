"""Pruning in a multi-process run: rank 0 decides, every rank applies the
same channels, and the ranks are checked to agree before DDP sees them."""
import contextlib
import hashlib
import json
from typing import Callable, Iterator, List, Optional

import torch
import torch.nn as nn
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_dist_info)

from mmprune.core.structured.layers import layer_widths
from mmprune.core.structured.pruning_history import replay_pruning_history


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


def decide_on_rank_zero(decide: Callable[[], dict], model: nn.Module,
                        data: dict) -> dict:
    """``decide()`` (which prunes ``model`` and returns a payload with the
    pruning ``history``) runs on rank 0 only; the payload is broadcast and
    the other ranks replay its history on their own model. Gradient and
    random criteria would choose differently on each rank."""
    rank, world = get_dist_info()
    payload: Optional[dict] = None
    if rank == 0:
        with rank_local():
            payload = decide()
    if world > 1:
        box = [payload]
        broadcast_object_list(box, src=0)
        payload = box[0]
        if rank != 0:
            with rank_local():
                replay_pruning_history(model, data, payload['history'])
    return payload


def structure_digest(history: List[list], model: nn.Module) -> str:
    return hashlib.sha1(
        json.dumps([history, sorted(layer_widths(model).items())
                    ]).encode()).hexdigest()[:12]


def check_ranks_agree(history: List[list], model: nn.Module) -> List[str]:
    """Every rank must hold the same pruned structure (same history, same
    widths); a difference stops the run here, not later in DDP. Returns
    the digests (one per rank)."""
    digests = all_gather_object(structure_digest(history, model))
    if len(set(digests)) != 1:
        raise RuntimeError(f'ranks pruned differently (structure digests '
                           f'{digests})')
    return digests
