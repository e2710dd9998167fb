"""How the distillation weight changes over training."""
from typing import Optional


def distill_weight_factor(iteration: int,
                          warmup_iters: int = 0,
                          decay_start: Optional[int] = None,
                          decay_end: Optional[int] = None,
                          final_factor: float = 0.0) -> float:
    """1.0, ramped up linearly over the first ``warmup_iters`` iterations
    and, if ``decay_start`` is set, linearly down to ``final_factor`` at
    ``decay_end`` (kept there afterwards)."""
    factor = 1.0
    if warmup_iters > 0 and iteration < warmup_iters:
        factor = (iteration + 1) / warmup_iters
    if decay_start is not None and iteration >= decay_start:
        end = decay_start if decay_end is None else decay_end
        progress = 1.0 if end <= decay_start else min(
            1.0, (iteration - decay_start) / (end - decay_start))
        factor *= 1.0 + (final_factor - 1.0) * progress
    return factor


def check_weight_schedule(cfg: dict) -> dict:
    allowed = {'warmup_iters', 'decay_start', 'decay_end', 'final_factor'}
    unknown = set(cfg) - allowed
    if unknown:
        raise ValueError(f'distill_weight_schedule: unknown keys '
                         f'{sorted(unknown)}; allowed: {sorted(allowed)}')
    if cfg.get('warmup_iters', 0) < 0:
        raise ValueError('distill_weight_schedule.warmup_iters must be >= 0')
    if cfg.get('decay_end') is not None and cfg.get('decay_start') is None:
        raise ValueError('distill_weight_schedule: decay_end needs '
                         'decay_start')
    if cfg.get('decay_end') is not None and \
            cfg['decay_end'] < cfg['decay_start']:
        raise ValueError('distill_weight_schedule: decay_end < decay_start')
    return dict(cfg)
