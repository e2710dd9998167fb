"""Per-step targets of iterative pruning: after step k of n the model has
lost k/n of the total ratio, or reached speed_up ** (k/n) of the FLOPs
reduction, each measured against the unpruned model."""
from typing import Dict, Optional


def step_ratio(total: float, k: int, n: int) -> float:
    """The share of the *current* channels step ``k`` (1-based) of ``n``
    removes so that ``k/n`` of ``total`` is gone from the original."""
    done = total * (k - 1) / n
    goal = total * k / n
    return 1.0 - (1.0 - goal) / (1.0 - done)


def step_layer_ratios(layer_ratios: Optional[Dict[str, float]], k: int,
                      n: int) -> Optional[Dict[str, float]]:
    if not layer_ratios:
        return layer_ratios
    return {p: step_ratio(r, k, n) for p, r in layer_ratios.items()}


def step_speed_up(total: float, k: int, n: int, flops_original: float,
                  flops_now: float) -> float:
    """The further FLOPs reduction step ``k`` of ``n`` must bring (1.0 or
    less: already there)."""
    return total ** (k / n) * flops_now / flops_original
