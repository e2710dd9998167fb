"""The finetune config ``tools/prune.py`` writes beside a pruned checkpoint
(and the from-scratch config of the retrain route): it inherits the
user's config, starts from the pruned checkpoint and keeps its structure,
so the stock ``tools/train.py`` (mmdet's, mmseg's, mmrotate's or
mmprune's) trains it and ``tools/test.py`` tests it."""
import datetime
import os.path as osp
import pprint
from typing import Any, Dict, Optional

from mmengine.config import Config

from mmprune.utils import atomic_write

HOOK = 'mmprune.StructuredPruningHook'


def _config_literal(value: Any) -> str:
    """``value`` (config data: dicts, lists, numbers, strings) as Python."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    return pprint.pformat(value, width=72, sort_dicts=False)


def _overrides(cfg: Config, cfg_options: Optional[dict]) -> Dict[str, Any]:
    """The top-level keys ``--cfg-options`` changed, with their merged
    values: written whole, so a key that passes through a list
    (``param_scheduler.1.end``) lands as the run had it."""
    return {k: cfg[k] for k in sorted(_option_keys(cfg_options)) if k in cfg}


def _option_keys(cfg_options: Optional[dict]) -> set:
    """The top-level config keys ``--cfg-options`` sets."""
    return {k.split('.')[0] for k in (cfg_options or {})}


FINETUNE_HEADER = [
    '# It inherits the config the checkpoint was pruned from, starts',
    '# from the pruned weights, and StructuredPruningHook (no target)',
    '# rebuilds the pruned structure before they load.',
]
SCHEDULE_KEYS = ('train_cfg', 'optim_wrapper', 'param_scheduler')
SCHEDULE_HEADER = [
    '# The schedule measured best for recovering a converged model (see',
    '# docs/en/user_guides/recover_accuracy.md); delete train_cfg,',
    "# optim_wrapper and param_scheduler below for the base config's own.",
]
BASE_SCHEDULE_HEADER = [
    "# The schedule is the base config's: shorten it for a finetune, e.g.",
    '#   --cfg-options train_cfg.max_epochs=12',
    '# (see docs/en/user_guides/recover_accuracy.md).',
]
SCRATCH_HEADER = [
    '# The retrain route: the architecture pruning found, with fresh',
    '# weights, trained on the base config\'s whole schedule.',
    '# StructuredPruningHook (no target) rebuilds the pruned structure',
    '# before the fresh weights load (see',
    '# docs/en/user_guides/recover_accuracy.md for when it pays).',
]


def applied_schedule(schedule: Optional[dict],
                     cfg_options: Optional[dict]) -> Optional[dict]:
    """``schedule``, or None when ``cfg_options`` set any of
    :data:`SCHEDULE_KEYS`: a schedule the user set is theirs, whole."""
    return None if _option_keys(cfg_options) & set(SCHEDULE_KEYS) \
        else schedule


def finetune_config_text(config: str,
                         cfg: Config,
                         checkpoint: str,
                         cfg_options: Optional[dict] = None,
                         summary: str = '',
                         scratch: bool = False,
                         schedule: Optional[dict] = None) -> str:
    """The text of a config that finetunes ``checkpoint`` (pruned from
    ``config``, read as ``cfg`` with ``cfg_options``), or with ``scratch``
    trains it from its fresh weights on the base schedule. ``schedule``:
    the finetune's (:func:`~mmprune.engine.finetune_schedule.
    finetune_schedule`); without it the base config's is kept."""
    base = config if '::' in config else osp.abspath(config)
    hooks = [
        h for h in (cfg.get('custom_hooks') or [])
        if h.get('type') not in (HOOK, HOOK.split('.')[-1])
    ]
    what = ('Training from scratch of a pruned architecture'
            if scratch else 'Finetune of a pruned checkpoint')
    lines = [
        f'# {what}, written by mmprune on '
        f'{datetime.date.today().isoformat()}.',
    ]
    if summary:
        lines.append(f'# {summary}')
    overrides = _overrides(cfg, cfg_options)
    schedule = applied_schedule(schedule, cfg_options)
    if scratch:
        lines += SCRATCH_HEADER
    else:
        lines += FINETUNE_HEADER + (
            SCHEDULE_HEADER if schedule else BASE_SCHEDULE_HEADER)
        if schedule:
            lines.append(f'# {schedule["summary"]}')
    lines += [
        f'_base_ = {base!r}',
        '',
        "custom_imports = dict(imports=['mmprune'], "
        'allow_failed_imports=False)',
        f'load_from = {osp.abspath(checkpoint)!r}',
        'resume = False',
        'custom_hooks = ' + _config_literal(hooks + [dict(type=HOOK)]),
    ]
    for key in SCHEDULE_KEYS:
        if schedule and not scratch:
            lines.append(f'{key} = {_config_literal(schedule[key])}')
    for key, value in overrides.items():
        if key in ('custom_hooks', 'load_from', 'resume', 'custom_imports'):
            continue
        lines.append(f'{key} = {_config_literal(value)}')
    return '\n'.join(lines) + '\n'


def write_finetune_config(path: str,
                          config: str,
                          cfg: Config,
                          checkpoint: str,
                          cfg_options: Optional[dict] = None,
                          summary: str = '',
                          scratch: bool = False,
                          schedule: Optional[dict] = None) -> str:
    """Write :func:`finetune_config_text` to ``path`` atomically; the
    path."""
    text = finetune_config_text(config, cfg, checkpoint, cfg_options, summary,
                                scratch, schedule)

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            f.write(text)

    atomic_write(path, write)
    return path
