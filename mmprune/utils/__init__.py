from .atomic_io import atomic_write, dump_json_atomic, save_checkpoint_atomic
from .cli import add_cfg_options_arg, add_device_arg, tool_parser
from .config_reader import config_name, read_config, resolve_config_path
from .device import default_device, resolve_device, synchronizer
from .setup_env import register_all_modules

__all__ = [
    'add_cfg_options_arg', 'add_device_arg', 'atomic_write', 'config_name',
    'default_device', 'dump_json_atomic', 'read_config',
    'register_all_modules', 'resolve_config_path', 'resolve_device',
    'save_checkpoint_atomic', 'synchronizer', 'tool_parser'
]
