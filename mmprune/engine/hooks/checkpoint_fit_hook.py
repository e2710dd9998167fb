"""``CheckpointFitHook``: never evaluate a half-loaded model. mmengine
loads ``load_from`` non-strictly and only warns when tensors do not fit, so
a checkpoint of another width (a pruned one, say) would be evaluated with
the mismatched layers at their random initialisation."""
from mmengine.hooks import Hook

from mmprune.core.checkpoint_reader import check_state_fits, state_dict_of
from mmprune.core.structured.pruned_structure import has_pruned_structure
from mmprune.engine.model_access import student_model
from mmprune.registry import HOOKS


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop, naming the file and the first tensor that does not fit, when
    the loaded checkpoint does not fill the model exactly. Runs last among
    the ``after_load_checkpoint`` hooks (after ``StructuredPruningHook``
    has rebuilt a pruned structure), before the weights are copied.
    ``tools/test.py`` adds it to every run. Extra checkpoint tensors (a
    Distiller's adapters) are allowed."""
    priority = 'LOWEST'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        path = runner.cfg.get('load_from') or 'the checkpoint'
        hint = None
        if has_pruned_structure(checkpoint):
            hint = ('It carries a pruned structure: add '
                    "dict(type='mmprune.StructuredPruningHook') to the "
                    "config's custom_hooks to rebuild it")
        check_state_fits(
            student_model(runner.model),
            state_dict_of(checkpoint),
            path,
            model_desc='the model of config '
            f'"{runner.cfg.filename}"',
            allow_unexpected=True,
            hint=hint)
