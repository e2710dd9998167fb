from .run_config import (add_custom_hook, add_run_args, build_runner,
                         check_fpn_width, check_mmprune_types,
                         check_start_checkpoint, load_run_config,
                         prepare_cfg_for_run, set_show_dir)

__all__ = [
    'add_custom_hook', 'add_run_args', 'build_runner', 'check_fpn_width',
    'check_mmprune_types', 'check_start_checkpoint', 'load_run_config',
    'prepare_cfg_for_run', 'set_show_dir'
]
