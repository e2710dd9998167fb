"""The schedule of the finetune config ``tools/prune.py`` writes: a share
of the base config's budget, a short warm-up to its peak rate, then a
cosine decay to zero, with the base config's EMA (if any) restarted from
the loaded weights.

The shares are the ones measured best on a converged model (the converged
recovery benchmark of docs/en/notes/benchmarks.md): see
docs/en/user_guides/recover_accuracy.md."""
from typing import Any, Dict

from mmengine.config import Config

#: the finetune's share of the base schedule's epochs (or iterations)
BUDGET_SHARE = 1 / 8
#: its top rate as a share of the base optimizer's (peak) rate
PEAK_RATE_SHARE = 1.0
#: linear warm-up from a tenth of the top rate, in iterations
WARMUP_ITERS = 50


class NoScheduleError(ValueError):
    """The base config has no epoch or iteration budget, or no rate."""


def finetune_schedule(cfg: Config,
                      budget_share: float = BUDGET_SHARE,
                      rate_share: float = PEAK_RATE_SHARE) -> Dict[str, Any]:
    """``train_cfg``, ``optim_wrapper`` and ``param_scheduler`` overrides
    (config data, merged over ``cfg``'s) for the finetune of a model
    trained with ``cfg``, and ``summary``, one line that states the
    budget."""
    loop = cfg.get('train_cfg') or {}
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    lr = optimizer.get('lr')
    if not isinstance(lr, (int, float)) or lr <= 0:
        raise NoScheduleError(
            'optim_wrapper.optimizer.lr: the base config has no learning '
            'rate to take the finetune\'s from')
    by_epoch = isinstance(loop.get('max_epochs'), int)
    if by_epoch:
        key, unit = 'max_epochs', 'epochs'
    elif isinstance(loop.get('max_iters'), int):
        key, unit = 'max_iters', 'iterations'
    else:
        raise NoScheduleError(
            'train_cfg: the base config has neither max_epochs nor '
            'max_iters to take the finetune\'s budget from')
    total = loop[key]
    budget = max(1, round(total * budget_share))
    if not by_epoch:
        budget = max(budget, 2 * WARMUP_ITERS)
    top = lr * rate_share
    return dict(
        train_cfg={
            key: budget,
            'val_interval': budget
        },
        optim_wrapper=dict(optimizer=dict(lr=top)),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=False,
                begin=0,
                end=WARMUP_ITERS),
            dict(
                type='CosineAnnealingLR',
                eta_min=0.0,
                by_epoch=by_epoch,
                begin=0,
                end=budget,
                T_max=budget,
                **(dict(convert_to_iter_based=True) if by_epoch else {}))
        ],
        summary=(f'finetune: {budget} of the base config\'s {total} {unit} '
                 f'({budget / total:.0%}), rate {top:.3g} '
                 f'({_share(rate_share, lr)}) after a '
                 f'{WARMUP_ITERS}-iteration warm-up, cosine to zero'))


def _share(share: float, peak: float) -> str:
    return 'its peak' if share == 1 else f'{share:g} of its peak {peak:g}'
