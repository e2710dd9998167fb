"""The OpenMMLab task libraries are optional: mmdet, mmseg and mmrotate.

A detection user need not install mmsegmentation or mmrotate. What mmprune
adds for a library (a dataset class, a layer pruner) registers only when
that library imports; a config that needs a missing one fails when it is
read, naming the package to install (:func:`require_library`).
"""
import importlib.util
from typing import Dict, Tuple

from .versions import SUPPORTED, check_version

#: config scope (module name) -> (distribution, how to install it)
TASK_LIBRARIES: Dict[str, Tuple[str, str]] = {
    'mmdet': ('mmdet', f'pip install "mmdet{SUPPORTED["mmdet"]}"'),
    'mmseg': ('mmsegmentation',
              f'pip install "mmsegmentation{SUPPORTED["mmsegmentation"]}" '
              'ftfy regex'),
    # mmrotate's metadata pins mmdet<3.1, although it runs on mmdet 3.3
    # with mmprune's import shim: it is installed without its dependencies
    'mmrotate':
    ('mmrotate', 'pip install --no-deps "mmrotate==1.0.0rc1" e2cnn'),
}


class MissingLibraryError(ImportError):
    """A config or a call needs a task library that is not installed."""


def library_available(scope: str) -> bool:
    """Whether the task library ``scope`` (``mmdet``, ``mmseg``,
    ``mmrotate``) is installed, without importing it."""
    return importlib.util.find_spec(scope) is not None


def require_library(scope: str, needed_by: str) -> None:
    """Raise :class:`MissingLibraryError` naming ``needed_by`` and the
    package to install when ``scope`` is a task library that is missing or
    of an unsupported version; other scopes pass."""
    if scope not in TASK_LIBRARIES:
        return
    dist, install = TASK_LIBRARIES[scope]
    if not library_available(scope):
        raise MissingLibraryError(
            f'{needed_by} needs {dist} ("{scope}"), which is not '
            f'installed: {install}')
    try:
        check_version(dist)
    except ImportError as e:
        raise MissingLibraryError(f'{needed_by}: {e}') from None
