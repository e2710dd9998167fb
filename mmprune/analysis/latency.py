"""Measured inference latency of a model on the device it sits on."""
import time
from typing import Tuple

import torch
import torch.nn as nn

from .module_breakdown import synthetic_batch


@torch.no_grad()
def measure_latency(model: nn.Module,
                    input_shape: Tuple[int, int] = (640, 640),
                    runs: int = 10,
                    warmup: int = 2) -> float:
    """Median wall time in ms of a tensor-mode forward of one synthetic
    image (backbone, neck and head; no post-processing, which depends on
    how many boxes a random model emits). The model's train/eval mode is
    restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        data = synthetic_batch(model, *input_shape)
        device = next(model.parameters()).device
        inputs = data['inputs'].to(device)
        times = []
        for i in range(warmup + runs):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(inputs, data['data_samples'], mode='tensor')
            if device.type == 'cuda':
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    times.sort()
    return round(1000 * times[len(times) // 2], 3)
