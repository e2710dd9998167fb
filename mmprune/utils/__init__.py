from .atomic_io import atomic_write, dump_json_atomic, save_checkpoint_atomic
from .config_reader import read_config
from .setup_env import register_all_modules

__all__ = [
    'atomic_write', 'dump_json_atomic', 'read_config', 'register_all_modules',
    'save_checkpoint_atomic'
]
