"""What a prune measures, in one object: FLOPs at an input size, latency
on the target runtime, and the ``round_to`` multiple measured there. The
hook and ``tools/prune.py`` build one and hand its measures to
``prune_model``."""
from typing import Tuple

import torch.nn as nn

from .latency import latency_measure
from .module_breakdown import module_breakdown
from .width_latency import round_to_measure


class PruningMeter:
    """Args: input_shape (H, W) of the synthetic image measured;
    latency_runtime (``torch`` or ``onnxruntime``); latency_runs, the runs
    of each latency median."""

    def __init__(self,
                 input_shape: Tuple[int, int],
                 latency_runtime: str = 'onnxruntime',
                 latency_runs: int = 10) -> None:
        self.input_shape = tuple(input_shape)
        self.latency = latency_measure(latency_runtime, self.input_shape,
                                       latency_runs)
        self.round_to = round_to_measure(latency_runtime, self.input_shape)

    def flops(self, model: nn.Module) -> float:
        return module_breakdown(model, self.input_shape).total_flops

    def prune_kwargs(self, with_flops: bool = True) -> dict:
        """``prune_model``'s ``flops_fn``, ``latency_fn`` and
        ``round_to_fn``; without ``with_flops`` no FLOPs are counted (a
        latency target alone)."""
        return dict(
            flops_fn=self.flops if with_flops else None,
            latency_fn=self.latency,
            round_to_fn=self.round_to)

    def __repr__(self) -> str:
        return f'PruningMeter(input_shape={self.input_shape})'
