from .run_config import check_mmprune_types, prepare_cfg_for_run, set_show_dir

__all__ = ['check_mmprune_types', 'prepare_cfg_for_run', 'set_show_dir']
