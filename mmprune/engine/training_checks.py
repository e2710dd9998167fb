"""Checks a pruning hook makes on its own arguments and on the training
it schedules, each naming the hook and the value at fault."""
from typing import Optional, Sequence

import torch


def check_hook_measures(input_shape: Optional[Sequence[int]],
                        latency_runs: int, who: str) -> None:
    """``input_shape``: None or (H, W), two positive integers;
    ``latency_runs``: an integer >= 1."""
    if input_shape is not None and (len(input_shape) != 2
                                    or any(not isinstance(x, int) or x < 1
                                           for x in input_shape)):
        raise ValueError(f'{who}: input_shape = {input_shape}: (H, W), two '
                         'positive integers')
    if not isinstance(latency_runs, int) or latency_runs < 1:
        raise ValueError(f'{who}: latency_runs = {latency_runs}: must be an '
                         'integer >= 1')


def check_loss_finite(outputs, iteration: int, prune_point: int,
                      who: str) -> None:
    """Raise when a training iteration after a prune point gave a loss
    that is not finite: the run diverged."""
    loss = outputs.get('loss') if isinstance(outputs, dict) else None
    if loss is not None and not bool(
            torch.isfinite(torch.as_tensor(loss)).all()):
        raise FloatingPointError(
            f'{who}: the training loss is {float(loss)} at iteration '
            f'{iteration}, after the prune point at {prune_point}: training '
            'diverged. Lower the learning rate of the finetune, or prune '
            'less at once (a smaller target, or more prune points)')
