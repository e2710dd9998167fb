"""Reading config files so that a mistake names the file at fault: mmengine
parses a config (and its bases) from a temporary copy, so a syntax error
reports ``File "<unknown>"``. Each file of the ``_base_`` chain is parsed
here first, under its own name."""
import ast
import os.path as osp
from typing import Optional

from mmengine.config import Config


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
        raise SyntaxError(
            f'config "{path}", line {e.lineno}: {e.msg}'
            + (f': {line.strip()!r}' if line else '')) from None
    # mmengine's own resolution of _base_ (relative paths and pkg::)
    for base in Config._get_base_files(path):
        base_path, _ = Config._get_cfg_path(base, path)
        if base_path is None or not base_path.endswith('.py'):
            continue
        if not osp.isfile(base_path):
            raise FileNotFoundError(
                f'config "{path}": its _base_ "{base}" does not exist '
                f'(looked for "{base_path}")')
        _check_syntax(base_path, seen)


def read_config(path: str, cfg_options: Optional[dict] = None,
                what: str = 'config') -> Config:
    """``Config.fromfile(path)`` with ``cfg_options`` merged; a missing
    file, a syntax error (in it or in a base) or a missing base names the
    file and line."""
    if not isinstance(path, str) or not osp.isfile(path):
        raise FileNotFoundError(f'{what} "{path}" does not exist')
    if not path.endswith(('.py', '.json', '.yaml', '.yml')):
        raise ValueError(f'{what} "{path}" is not a config file (.py, .json '
                         'or .yaml)')
    if path.endswith('.py'):
        _check_syntax(path, set())
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
