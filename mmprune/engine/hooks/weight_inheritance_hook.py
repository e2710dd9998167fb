"""``WeightInheritanceHook``: start a slimmed config from a wider trained
checkpoint, keeping the most important channels of every coupled group."""
import os.path as osp
from typing import Optional, Union

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmprune.core.checkpoint_reader import check_checkpoint_path
from mmprune.core.inheritance import weight_criterion
from mmprune.engine.inheritance_from_checkpoint import inherit_from_checkpoint
from mmprune.engine.model_access import student_model
from mmprune.registry import HOOKS
from mmprune.utils import dump_json_atomic


@HOOKS.register_module()
class WeightInheritanceHook(Hook):
    """Inherit the slimmed model's weights from ``checkpoint`` before the
    first training iteration.

    Runs after the runner's weight initialisation and checkpoint loading,
    only when training starts from iteration 0 (a resumed run already holds
    its weights). Writes ``weight_inheritance.json`` in the work dir: every
    tensor inherited whole, narrowed (kept/total per dim) or initialised
    fresh with the reason.

    Args:
        checkpoint: the wider model's checkpoint (never modified).
        source_config: the config of that model; by default the config
            mmengine saved inside the checkpoint.
        importance: the criterion ranking channels from the weights:
            ``l1`` (default), ``l2``, ``lamp``, ``bn_scale`` or
            ``dict(type=...)`` of ``mmprune.core.criteria``.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 checkpoint: str,
                 source_config: Optional[str] = None,
                 importance: Union[str, dict] = 'l1') -> None:
        try:
            weight_criterion(importance)
        except ValueError as e:
            raise ValueError(
                f'WeightInheritanceHook: importance '
                f'"{importance}" cannot rank channels: {e}') from None
        self.checkpoint = checkpoint
        self.source_config = source_config
        self.importance = importance

    def _check(self, runner) -> None:
        if runner.cfg.get('load_from') and not runner.cfg.get('resume'):
            raise ValueError(
                'WeightInheritanceHook: the config also sets load_from '
                f'("{runner.cfg.load_from}"); both would give the starting '
                'weights. Remove one of them.')
        check_checkpoint_path(self.checkpoint,
                              'WeightInheritanceHook: checkpoint')

    def before_run(self, runner) -> None:
        # before weights are initialised or loaded, in training runs only
        # (tools/test.py sets load_from); a resumed run skips inheritance
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if training and not runner.cfg.get('resume'):
            self._check(runner)

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            runner.logger.info('WeightInheritanceHook: resumed at iteration '
                               f'{runner.iter}, nothing to inherit')
            return
        self._check(runner)
        model = student_model(runner.model)
        report = inherit_from_checkpoint(model, runner.cfg, self.checkpoint,
                                         self.source_config, self.importance)
        runner.logger.info(report.summary())
        out = osp.join(runner.work_dir, 'weight_inheritance.json')
        dump_json_atomic(
            dict(checkpoint=self.checkpoint, **report.to_dict()), out)
        runner.logger.info(f'weight inheritance report: {out}')
