"""The teacher of a :class:`Distiller`: built frozen, from its own config or
as a copy of the unpruned student, and held outside the student's module
tree."""
import copy
from typing import Optional, Union

import torch.nn as nn
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from mmprune.core.checkpoint_reader import check_state_fits, read_state_dict
from mmprune.utils import read_config


class FrozenTeacher:
    """Holds the teacher outside the module tree: not in parameters() (no
    optimizer state, no DDP gradient sync), not in state_dict() (never
    saved), and shared, not copied, when EMAHook deep-copies the model."""

    def __init__(self, module: nn.Module, from_student: bool) -> None:
        self.module = module
        # a teacher that takes the student's starting weights is not ready
        # until then (state shared with EMA copies, like the module)
        self.from_student = from_student
        self.ready = not from_student

    def __deepcopy__(self, memo) -> 'FrozenTeacher':
        return self


def build_teacher(teacher_config: Union[str, dict, None],
                  teacher_checkpoint: Optional[str],
                  student: Optional[nn.Module] = None) -> nn.Module:
    """The frozen teacher: built from ``teacher_config`` or, when that is
    None, a copy of the (unpruned) ``student``; weights from
    ``teacher_checkpoint`` when given."""
    if teacher_config is None:
        teacher = copy.deepcopy(student)
        if teacher_checkpoint is not None:
            state, _ = read_state_dict(teacher_checkpoint,
                                       'Distiller: teacher_checkpoint')
            check_state_fits(
                teacher,
                state,
                teacher_checkpoint,
                'Distiller: teacher_checkpoint',
                "the student's unpruned model",
                hint='Without teacher_config the teacher is '
                "the student's own model before pruning; give "
                'teacher_config for another architecture')
            teacher.load_state_dict(state, strict=True)
        teacher = revert_sync_batchnorm(teacher)
        teacher.eval().requires_grad_(False)
        return teacher
    if isinstance(teacher_config, str):
        cfg = read_config(teacher_config, what='Distiller: teacher_config')
        scope, model_cfg = cfg.get('default_scope'), cfg.model
    else:
        scope, model_cfg = None, teacher_config
    state = None
    if teacher_checkpoint is not None:
        # read (weights_only=True) before the teacher is built: a missing,
        # empty or foreign file fails first, naming itself
        state, _ = read_state_dict(teacher_checkpoint,
                                   'Distiller: teacher_checkpoint')
    with DefaultScope.overwrite_default_scope(scope):
        teacher = ROOT_MODELS.build(model_cfg)
    if state is not None:
        desc = (f'teacher_config "{teacher_config}"' if isinstance(
            teacher_config, str) else 'the teacher model of teacher_config')
        check_state_fits(
            teacher,
            state,
            teacher_checkpoint,
            'Distiller: teacher_checkpoint',
            desc,
            hint='The teacher checkpoint must be a checkpoint '
            'of the teacher config')
        teacher.load_state_dict(state, strict=True)
    teacher = revert_sync_batchnorm(teacher)
    teacher.eval().requires_grad_(False)
    return teacher
