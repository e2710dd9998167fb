import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmprune module that registers something.

    Args:
        init_default_scope: set the default scope to ``mmprune`` (as
            mmdet/mmseg do for theirs), unless one is set already.
    """
    import mmprune.datasets  # noqa: F401
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmprune', scope_name='mmprune')
    elif current.scope_name != 'mmprune':
        warnings.warn(f'The current default scope "{current.scope_name}" '
                      'is not "mmprune"; register_all_modules forces it to '
                      'mmprune for this call.')
        DefaultScope.get_instance(
            f'mmprune-{datetime.datetime.now()}', scope_name='mmprune')
