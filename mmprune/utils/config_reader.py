"""Reading config files so that a mistake names the file at fault: mmengine
parses a config (and its bases) from a temporary copy, so a syntax error
reports ``File "<unknown>"``. Each file of the ``_base_`` chain is parsed
here first, under its own name. A config whose base or ``default_scope``
is a task library that is not installed (``mmseg::``, ``mmrotate``) names
the package to install."""
import ast
import os.path as osp
from typing import Optional

from mmengine.config import Config

from mmprune.compat.task_libraries import require_library


def _check_syntax(path: str, seen: set) -> None:
    path = osp.abspath(path)
    if path in seen:
        return
    seen.add(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        ast.parse(text, filename=path)
    except SyntaxError as e:
        line = (e.text or '').rstrip()
        raise SyntaxError(f'config "{path}", line {e.lineno}: {e.msg}' +
                          (f': {line.strip()!r}' if line else '')) from None
    # mmengine's own resolution of _base_ (relative paths and pkg::)
    for base in Config._get_base_files(path):
        if '::' in base:
            require_library(
                base.split('::')[0], f'config "{path}": its _base_ "{base}"')
        base_path, _ = Config._get_cfg_path(base, path)
        if base_path is None or not base_path.endswith('.py'):
            continue
        if not osp.isfile(base_path):
            raise FileNotFoundError(
                f'config "{path}": its _base_ "{base}" does not exist '
                f'(looked for "{base_path}")')
        _check_syntax(base_path, seen)


def config_name(path: str) -> str:
    """The name of a config without folder and suffix, for a model-zoo
    name (``mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py``) too: what
    default work and output folders are named after."""
    return osp.splitext(osp.basename(path.split('::')[-1]))[0]


def resolve_config_path(path: str, what: str = 'config') -> str:
    """``path`` itself, or for ``pkg::rel/config.py`` (a model-zoo config
    of an installed task library, as mim names them) its file."""
    if not isinstance(path, str):
        raise TypeError(f'{what} must be a file path, got {path!r}')
    if '::' in path and not osp.isfile(path):
        require_library(path.split('::')[0], f'{what} "{path}"')
        resolved, _ = Config._get_cfg_path(path, '')
        if not resolved or not osp.isfile(resolved):
            raise FileNotFoundError(f'{what} "{path}" does not exist '
                                    f'(looked for "{resolved}")')
        return resolved
    return path


def read_config(path: str,
                cfg_options: Optional[dict] = None,
                what: str = 'config') -> Config:
    """``Config.fromfile(path)`` with ``cfg_options`` merged; a missing
    file, a syntax error (in it or in a base) or a missing base names the
    file and line. ``path`` may name a model-zoo config as
    ``mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py``."""
    path = resolve_config_path(path, what)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} "{path}" does not exist')
    if not path.endswith(('.py', '.json', '.yaml', '.yml')):
        raise ValueError(f'{what} "{path}" is not a config file (.py, .json '
                         'or .yaml)')
    if path.endswith('.py'):
        _check_syntax(path, set())
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope')
    if isinstance(scope, str):
        require_library(scope, f'config "{path}" (default_scope="{scope}")')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
