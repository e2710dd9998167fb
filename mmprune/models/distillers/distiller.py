"""``Distiller``: train any mmdet/mmrotate/mmseg student with extra losses
that pull named module outputs towards a frozen teacher's."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import MODELS as ROOT_MODELS

from mmprune.core.checkpoint_reader import check_state_fits
from mmprune.core.model_family import roi_extractor_of
from mmprune.models.losses import AdaptedFeatureLoss
from mmprune.registry import MODELS
from .output_recorder import ModuleOutputRecorder, check_module_names
from .teacher import FrozenTeacher, build_teacher
from .weight_schedule import check_weight_schedule, distill_weight_factor


@MODELS.register_module()
class Distiller(BaseModel):
    """Knowledge distillation around a student model.

    Args:
        student: the student's model config (usually ``{{_base_.model}}``
            or the model of a slimmed config).
        teacher_config: a config file (its ``model`` and ``default_scope``)
            or a model config dict. None: the teacher is the student's own
            model, unpruned (to distil a structurally pruned student from
            the model it was pruned from).
        teacher_checkpoint: the teacher's trained weights (loaded with
            ``weights_only=True``; strict). None with ``teacher_config``
            None: the teacher takes the student's weights when training
            starts (the checkpoint in ``load_from``), before
            ``StructuredPruningHook`` prunes the student; the hook keeps
            that teacher in the run's checkpoints for ``--resume``.
        distill_losses: a dict ``{name: dict(type=..., student=MODULE,
            teacher=MODULE, loss_weight=...)}`` (``teacher`` defaults to
            the student's module name): the outputs of the named
            student and teacher modules are paired in call order (a head
            shared over FPN levels gives one pair per level; an FPN's tuple
            one pair per level). Losses with adapters (FeatureMSELoss,
            ChannelWiseDivergence, PKDLoss, MGDLoss) get a learnable 1x1 conv
            when the channel counts differ, found by a probe forward at
            build time and again after the student is pruned
            (:meth:`fit_adapters`).
        distill_weight_schedule: ``dict(warmup_iters, decay_start,
            decay_end, final_factor)`` multiplying every distillation loss;
            ``decay_start=decay_end=N, final_factor=0`` stops distillation
            from iteration N (the last part of training without it).
        probe_shape: input size of that probe forward.
        data_preprocessor: what mmengine's Runner passes from a config's
            top-level ``data_preprocessor``: the student's, unless its own
            config sets one. The Distiller preprocesses as its student.

    Saved checkpoints hold the student's weights under the student's own
    key names (plus ``distill_losses.*`` adapter weights when there are
    any); the teacher is never saved. ``tools/test.py`` with the student's
    plain config loads them. Validation and prediction run the student.
    """

    def __init__(self,
                 student: dict,
                 teacher_config: Union[str, dict, None] = None,
                 teacher_checkpoint: Optional[str] = None,
                 distill_losses: Optional[Dict[str, dict]] = None,
                 distill_weight_schedule: Optional[dict] = None,
                 probe_shape: tuple = (256, 256),
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        if not distill_losses:
            raise ValueError('Distiller: distill_losses is empty')
        self.weight_schedule = check_weight_schedule(distill_weight_schedule
                                                     or {})
        pairs = {}
        loss_cfgs = {}
        for name, cfg in distill_losses.items():
            cfg = dict(cfg)
            missing = {'type', 'student'} - set(cfg)
            if missing:
                raise ValueError(f'distill_losses.{name}: missing '
                                 f'{sorted(missing)}')
            s_name = cfg.pop('student')
            pairs[name] = (s_name, cfg.pop('teacher', s_name))
            loss_cfgs[name] = cfg
        # the teacher and every module name are checked before any training
        # starts (a teacher config before the student is even built)
        teacher = None
        if teacher_config is not None:
            teacher = build_teacher(teacher_config, teacher_checkpoint)
            check_module_names(teacher, [t for _, t in pairs.values()],
                               'Distiller distill_losses (teacher)')
        if data_preprocessor is not None:
            # mmengine's Runner gives a config's top-level data_preprocessor
            # (mmseg configs have one) to the model dict it builds: here it
            # goes to the student, whose own setting wins as in the Runner
            student = dict(student)
            student.setdefault('data_preprocessor', data_preprocessor)
        student_model = ROOT_MODELS.build(student)
        super().__init__(
            data_preprocessor=student_model.data_preprocessor,
            init_cfg=init_cfg)
        self.student = student_model
        check_module_names(self.student, [s for s, _ in pairs.values()],
                           'Distiller distill_losses (student)')
        if teacher is None:
            teacher = build_teacher(None, teacher_checkpoint, student_model)
            check_module_names(teacher, [t for _, t in pairs.values()],
                               'Distiller distill_losses (teacher)')
        self._check_same_preprocessing(teacher)
        self._teacher = FrozenTeacher(
            teacher,
            from_student=teacher_config is None and teacher_checkpoint is None)
        self.probe_shape = tuple(probe_shape)
        self.pairs = pairs
        self.distill_losses = nn.ModuleDict({
            n: MODELS.build(c)
            for n, c in loss_cfgs.items()
        })
        # the RoI extractor whose RoIs the teacher takes from the student:
        # the teacher's RoI head must see the student's sampled RoIs, or RoI
        # logits and box deltas would not pair up
        self.roi_extractor = roi_extractor_of(self.student)
        self.align_rois = self.roi_extractor is not None and \
            self._has(self.student, self.roi_extractor) and \
            self._has(teacher, self.roi_extractor)
        self.fit_adapters()
        self._register_load_state_dict_pre_hook(self._add_student_prefix)

    # -- construction helpers ----------------------------------------------
    @property
    def teacher(self) -> nn.Module:
        return self._teacher.module

    @staticmethod
    def _has(model: nn.Module, name: str) -> bool:
        try:
            model.get_submodule(name)
            return True
        except AttributeError:
            return False

    def _check_same_preprocessing(self, teacher: nn.Module) -> None:
        # One preprocessed batch feeds both models.
        for attr in ('mean', 'std'):
            a = getattr(self.data_preprocessor, attr, None)
            b = getattr(teacher.data_preprocessor, attr, None)
            if (a is None) != (b is None) or (
                    a is not None and not torch.allclose(a.cpu(), b.cpu())):
                raise ValueError(
                    f'Distiller: the teacher\'s data_preprocessor.{attr} '
                    f'({b}) differs from the student\'s ({a}); both models '
                    'read the same preprocessed batch')

    def fit_adapters(self) -> List[str]:
        """Size every adapted loss (adapter, MGD's generator) to the
        student's and teacher's widths, found by a probe forward of both
        models; called when built and again after the student is pruned.
        Returns the names of the losses whose learnt parts were rebuilt
        (their new parameters are not in any optimizer yet)."""
        need = [
            n for n, loss in self.distill_losses.items()
            if isinstance(loss, AdaptedFeatureLoss)
        ]
        if not need:
            return []
        from mmprune.datasets.synthetic_batch import synthetic_test_batch
        data = synthetic_test_batch(self.student, *self.probe_shape)
        was = self.student.training
        self.student.eval()
        with torch.no_grad():
            s_out = self._tensor_forward(self.student, data,
                                         [self.pairs[n][0] for n in need])
            t_out = self._tensor_forward(self.teacher, data,
                                         [self.pairs[n][1] for n in need])
        self.student.train(was)
        rebuilt = []
        for name in need:
            s_name, t_name = self.pairs[name]
            if not s_out[s_name] or not t_out[t_name]:
                continue  # nothing to probe (e.g. no RoIs): same widths
            s, t = s_out[s_name][0], t_out[t_name][0]
            if self.distill_losses[name].fit_widths(s.shape[1], t.shape[1],
                                                    s.dim() == 4):
                rebuilt.append(name)
        device = next(self.student.parameters()).device
        self.distill_losses.to(device)
        return rebuilt

    # -- a teacher that is the student before pruning -----------------------
    @property
    def teacher_waits_for_student(self) -> bool:
        """Whether the teacher still waits for the student's starting
        weights."""
        return not self._teacher.ready

    def take_teacher_from_student(self) -> None:
        """The teacher becomes a frozen copy of the student as it is now
        (the weights training starts from, before any pruning)."""
        try:
            check_state_fits(self.teacher, self.student.state_dict(),
                             'the student', 'Distiller: the weights of',
                             "the teacher (the student's unpruned model)")
        except ValueError as e:
            raise RuntimeError(
                'Distiller: the teacher is to be the student before '
                'pruning, but the student is already pruned and no teacher '
                f'was saved with the checkpoint ({e}); give '
                'teacher_checkpoint (the unpruned checkpoint)') from None
        self.teacher.load_state_dict(self.student.state_dict())
        self._teacher.ready = True

    def teacher_to_checkpoint(self, checkpoint: dict) -> None:
        """A teacher taken from the student lives only in this run: it goes
        into the run's checkpoints (beside, not in, ``state_dict``)."""
        if self._teacher.ready and self._teacher.from_student:
            checkpoint['distill_teacher'] = self.teacher.state_dict()

    def teacher_from_checkpoint(self, checkpoint: dict) -> bool:
        state = checkpoint.get('distill_teacher')
        if state is None or not self._teacher.from_student:
            return False
        check_state_fits(self.teacher, state, 'the checkpoint being loaded',
                         'Distiller: distill_teacher',
                         "the teacher (the student's unpruned model)")
        self.teacher.load_state_dict(state)
        self._teacher.ready = True
        return True

    @staticmethod
    def _tensor_forward(model, data, names) -> Dict[str, List[torch.Tensor]]:
        with ModuleOutputRecorder(model, names) as rec:
            model(data['inputs'], data['data_samples'], mode='tensor')
        return rec.outputs

    # -- state dict: the student's own key names ---------------------------
    def state_dict(self, *args, destination=None, prefix='', keep_vars=False):
        destination = self.student.state_dict(
            destination=destination, prefix=prefix, keep_vars=keep_vars)
        return self.distill_losses.state_dict(
            destination=destination,
            prefix=prefix + 'distill_losses.',
            keep_vars=keep_vars)

    def _add_student_prefix(self, state_dict, prefix, *args) -> None:
        for key in list(state_dict):
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix):]
            own = ('student.', 'distill_losses.', 'data_preprocessor.')
            if not rest.startswith(own):
                state_dict[prefix + 'student.' + rest] = state_dict.pop(key)

    # -- modes ----------------------------------------------------------------
    def train(self, mode: bool = True) -> 'Distiller':
        super().train(mode)
        self.teacher.eval()  # always: BN statistics and dropout frozen
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)  # follow .to()/.cuda()
        return self

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        if not self._teacher.ready:
            raise RuntimeError(
                'Distiller: the teacher has no weights: without '
                'teacher_config and teacher_checkpoint it takes the '
                "student's starting weights, which StructuredPruningHook "
                'does when training starts; add the hook, or give '
                'teacher_checkpoint')
        rois: List[torch.Tensor] = []
        handles = []
        if self.align_rois:
            handles.append(
                self.student.get_submodule(
                    self.roi_extractor).register_forward_pre_hook(
                        lambda m, args: rois.append(args[1].detach())))
        try:
            with ModuleOutputRecorder(self.student,
                                      [s
                                       for s, _ in self.pairs.values()]) as s:
                losses = self.student.loss(inputs, data_samples)
        finally:
            for h in handles:
                h.remove()
        handles = []
        if self.align_rois and rois:
            queue = list(rois)

            def use_student_rois(m, args):
                return (args[0], queue.pop(0) if queue else args[1], *args[2:])

            handles.append(
                self.teacher.get_submodule(
                    self.roi_extractor).register_forward_pre_hook(
                        use_student_rois))
        try:
            with torch.no_grad(), ModuleOutputRecorder(
                    self.teacher, [t for _, t in self.pairs.values()]) as t:
                self.teacher(inputs, data_samples, mode='tensor')
        finally:
            for h in handles:
                h.remove()
        factor = distill_weight_factor(self._iteration(),
                                       **self.weight_schedule)
        for name, (s_name, t_name) in self.pairs.items():
            s_outs, t_outs = s.outputs[s_name], t.outputs[t_name]
            if len(s_outs) != len(t_outs):
                raise RuntimeError(
                    f'distill_losses.{name}: student "{s_name}" gave '
                    f'{len(s_outs)} outputs, teacher "{t_name}" '
                    f'{len(t_outs)}; they must pair up one to one')
            if not s_outs:
                raise RuntimeError(
                    f'distill_losses.{name}: "{s_name}" gave no tensor '
                    'output in the training forward; name a module that '
                    'runs and returns tensors')
            loss_fn = self.distill_losses[name]
            value = sum(loss_fn(a, b) for a, b in zip(s_outs, t_outs))
            losses[f'loss_distill_{name}'] = factor * value / len(s_outs)
        return losses

    @staticmethod
    def _iteration() -> int:
        hub = MessageHub.get_current_instance()
        return int(hub.get_info('iter', 0) or 0)
