"""Importance criteria, one registered class per file.

Every module of this package is imported here, so a new criterion is one
new file with a ``@CRITERIA.register_module`` class."""
import importlib
import pkgutil
from typing import List, Union

from mmprune.registry import CRITERIA
from .base import Criterion, criteria_with

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_info.name}')


def build_criterion(cfg: Union[str, dict, Criterion],
                    use: str = 'channel') -> Criterion:
    """A criterion from its short name (``'l1'``), a config dict
    (``dict(type='L1L2', l1_weight=0.5)``) or an instance, checked to have
    scores for ``use`` (``channel``, ``element`` or ``internal-group``)."""
    if isinstance(cfg, Criterion):
        criterion = cfg
    else:
        if isinstance(cfg, str):
            cfg = dict(type=cfg)
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise ValueError(
                f'importance = {cfg!r}: a criterion name ('
                f'{", ".join(criterion_names())}) or dict(type=...)')
        if CRITERIA.get(cfg['type']) is None:
            raise ValueError(
                f'importance {cfg["type"]!r} is not a criterion; known: '
                f'{", ".join(criterion_names())}')
        try:
            # built in mmprune's scope: the registry has no parent, and
            # under a config's default scope (mmdet, ...) mmengine warns
            # that it found no such registry there
            criterion = CRITERIA.build(dict(cfg, _scope_='mmprune'))
        except TypeError as e:
            raise ValueError(f'importance = {cfg}: {e}') from None
    if criterion.short_name not in criteria_with(use):
        raise ValueError(criterion._missing(use))
    return criterion


def criterion_names() -> List[str]:
    """The short names of all registered criteria."""
    return sorted({cls.short_name for cls in CRITERIA.module_dict.values()})


__all__ = [
    'CRITERIA', 'Criterion', 'build_criterion', 'criteria_with',
    'criterion_names'
]
