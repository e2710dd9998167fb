"""When a training run prunes, and how far at each prune point.

After prune point k of n the model has lost k/n of the total ratio, or
reached ``speed_up ** (k/n)`` of the FLOPs reduction, or
``latency_speed_up ** (k/n)`` of the measured latency reduction, each
measured against the unpruned model, so finetuning in between does not
move the goal."""
from typing import Dict, List, Optional, Sequence

from .options import PruningOptions


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
    return total**(k / n) * flops_now / flops_original


class PruningSchedule:
    """The prune points of a run (training iterations, increasing) and the
    target of each.

    Args:
        prune_at: ``(0, )`` is one shot before finetuning; several points
            prune iteratively, each reaching its share of the target.
        options: the whole run's target and how to reach it.
    """

    def __init__(self, prune_at: Sequence[int],
                 options: PruningOptions) -> None:
        prune_at = list(prune_at)
        if not prune_at or any(
                not isinstance(i, int) or isinstance(i, bool) or i < 0
                for i in prune_at) or prune_at != sorted(set(prune_at)):
            raise ValueError(
                f'prune_at = {prune_at}: must be increasing iterations >= 0')
        if options.allocation != 'uniform' and len(prune_at) > 1:
            raise ValueError(
                f"allocation='{options.allocation}' with prune_at = "
                f'{prune_at}: the '
                'ratios are chosen for one prune point (give one iteration)')
        self.prune_at = prune_at
        self.options = options

    def __len__(self) -> int:
        return len(self.prune_at)

    def points_due(self, iteration: int, done: Sequence[int]) -> List[int]:
        """The 1-based indices of the prune points due at ``iteration``."""
        return [
            k for k, p in enumerate(self.prune_at, 1)
            if p == iteration and p not in done
        ]

    def step_options(self, target: dict) -> PruningOptions:
        """The options of a prune point with ``target`` (its share, from
        :meth:`step_target`), never strict (the run decides what an
        unreached target means)."""
        return self.options.replace(
            ratio=target.get('ratio'),
            speed_up=target.get('speed_up'),
            latency_speed_up=target.get('latency_speed_up'),
            layer_ratios=target.get('layer_ratios') or {},
            strict_target=False)

    def step_target(self, k: int, flops_before: float,
                    flops_now: float) -> dict:
        n, opts = len(self.prune_at), self.options
        if opts.latency_speed_up is not None:
            # measured against the unpruned model at every prune point
            return dict(latency_speed_up=opts.latency_speed_up**(k / n))
        if opts.speed_up is not None:
            return dict(
                speed_up=step_speed_up(opts.speed_up, k, n, flops_before,
                                       flops_now))
        ratio = opts.ratio if opts.ratio is not None else 0.0
        return dict(
            ratio=step_ratio(ratio, k, n),
            layer_ratios=step_layer_ratios(opts.layer_ratios, k, n))

    @staticmethod
    def already_met(target: dict) -> bool:
        return target.get('speed_up', 2.0) <= 1.0 + 1e-6

    def target_reached(self, done: Sequence[int], speed_up: float,
                       events: Sequence[dict]) -> Optional[bool]:
        """Whether the whole target is met: every step's, and for a
        ``speed_up`` the overall FLOPs reduction (None until the last
        prune point)."""
        if len(done) < len(self.prune_at):
            return None
        if self.options.speed_up is not None:
            return speed_up >= self.options.speed_up * (1 - 1e-6)
        return all(e.get('target_reached', True) for e in events)
