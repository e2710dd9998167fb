"""What mmprune must know of a family of OpenMMLab models, asked in one
place.

The core knows no model library: each family is a class registered in
``MODEL_FAMILIES`` from ``mmprune.models.families`` (one file per family),
and the core, the engine and the tools ask these functions. Supporting a
new family is one file there, plus its configs.
"""
import contextlib
import re
from typing import (Any, ContextManager, Dict, Iterable, Iterator, List,
                    Optional, Tuple, Type)

import torch.nn as nn

from mmprune.registry import MODEL_FAMILIES


class ModelFamily:
    """The base of the registered families.

    Attributes:
        scope: the library whose registry builds the models (a config's
            ``default_scope``).
        task: the ground truth a synthetic batch carries: ``det``,
            ``rotated`` or ``seg``.
        model_types: class names of the models, or of a base class they
            derive from, by which a built model is recognised.
        prediction_layers: module-name stems of the final prediction
            layers (their output widths are classes, box or angle
            parameters, logits): kept whole by pruning and left dense by
            sparsity unless the user says otherwise.
        roi_extractor: the module whose RoIs a distilled student and its
            teacher share, so their RoI features compare the same boxes.
        coupled_width_keys: config keys (under ``model``) that must equal
            ``neck.out_channels`` when a config slims the neck.
    """
    scope: str = ''
    task: str = ''
    model_types: Tuple[str, ...] = ()
    prediction_layers: Tuple[str, ...] = ()
    roi_extractor: Optional[str] = None
    coupled_width_keys: Tuple[str, ...] = ()

    @classmethod
    def matches(cls, model: nn.Module) -> bool:
        return any(c.__name__ in cls.model_types for c in type(model).__mro__)

    @classmethod
    def fixed_width_layers(cls, model: nn.Module) -> Dict[str, str]:
        """Layers whose output width the model's own code checks against
        a fixed number, ``{name: why}``: kept whole before pruning (the
        model check would find and roll back each one, at the cost of
        several replays). Default: none."""
        return {}

    @classmethod
    def bounded_structure_runs(cls, model: nn.Module) -> ContextManager:
        """Settings for the runs that only trace or check the model's
        structure (the dependency graph, the model check, a replay), under
        which they cost less and reach the same layers. Default: none."""
        return contextlib.nullcontext()


@contextlib.contextmanager
def capped_settings(caps: Iterable[Tuple[Any, str, int]]) -> Iterator[None]:
    """For the duration, every ``(holder, key, limit)`` (a dict's item or
    an object's attribute, where it exists and is an int) is at most
    ``limit``; restored afterwards."""
    changed = []
    for holder, key, limit in caps:
        if holder is None:
            continue
        is_dict = isinstance(holder, dict)
        old = holder.get(key) if is_dict else getattr(holder, key, None)
        if isinstance(old, int) and not isinstance(old, bool) and \
                old > limit:
            changed.append((holder, key, old, is_dict))
            if is_dict:
                holder[key] = limit
            else:
                setattr(holder, key, limit)
    try:
        yield
    finally:
        for holder, key, old, is_dict in reversed(changed):
            if is_dict:
                holder[key] = old
            else:
                setattr(holder, key, old)


def model_families() -> List[Type[ModelFamily]]:
    MODEL_FAMILIES.import_from_location()
    return list(MODEL_FAMILIES.module_dict.values())


def family_of(model: nn.Module) -> Optional[Type[ModelFamily]]:
    """The family a built model belongs to (None: none registered)."""
    for family in model_families():
        if family.matches(model):
            return family
    return None


def default_protected() -> Tuple[str, ...]:
    """One pattern matching every family's prediction layers."""
    stems = sorted({s for f in model_families() for s in f.prediction_layers})
    return (r'(^|\.)(' + '|'.join(map(re.escape, stems)) + r')(\.|$)', )


def task_of_scope(scope: str) -> str:
    """The task of a config's ``default_scope``."""
    tasks = {f.task for f in model_families() if f.scope == scope}
    if len(tasks) != 1:
        scopes = sorted({f.scope for f in model_families()})
        raise ValueError(
            f'config default_scope = {scope!r}: mmprune knows the model '
            f'families of {", ".join(scopes)}')
    return tasks.pop()


def coupled_width_keys() -> Tuple[str, ...]:
    """Every family's config keys that must equal ``neck.out_channels``."""
    return tuple(
        sorted({k
                for f in model_families()
                for k in f.coupled_width_keys}))


def fixed_width_layers(model: nn.Module) -> Dict[str, str]:
    """``model``'s layers whose output width its code fixes, with why
    (see :meth:`ModelFamily.fixed_width_layers`)."""
    family = family_of(model)
    return family.fixed_width_layers(model) if family is not None else {}


def bounded_structure_runs(model: nn.Module) -> ContextManager:
    """The context of ``model``'s family for runs that only trace or check
    its structure (see :meth:`ModelFamily.bounded_structure_runs`)."""
    family = family_of(model)
    return family.bounded_structure_runs(model) if family is not None \
        else contextlib.nullcontext()


def roi_extractor_of(model: nn.Module) -> Optional[str]:
    """The module path of ``model``'s shared RoI extractor, if it has
    one."""
    family = family_of(model)
    return family.roi_extractor if family is not None else None
