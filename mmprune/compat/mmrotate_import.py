"""Make mmrotate 1.0.0rc1 importable next to mmdet 3.3.0 on Python 3.11.

Two things stop ``import mmrotate`` as published:

1. ``mmrotate/__init__.py`` asserts ``mmdet.__version__ <= 3.1.0``; the
   models it uses run unchanged on mmdet 3.3.0 (checked by the test suite).
2. ``mmrotate/models/detectors/refine_single_stage.py`` does
   ``from collections import Sequence``, removed in Python 3.10.

Rather than patching installed files or leaving ``collections.Sequence`` set
for every program, a meta-path finder wraps the loader of exactly those two
modules: while each executes, it sees what it expects, and afterwards
nothing of the patch remains. The import stays lazy: mmrotate is loaded only
when a config or user asks for it.
"""
import collections
import collections.abc
import importlib.abc
import importlib.machinery
import os
import sys
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

_MMDET_VERSION_MMROTATE_ACCEPTS = '3.1.0'


@contextmanager
def _mmdet_version_seen_as(version: str) -> Iterator[None]:
    import mmdet
    real = mmdet.__version__
    mmdet.__version__ = version
    try:
        yield
    finally:
        mmdet.__version__ = real


@contextmanager
def _collections_sequence() -> Iterator[None]:
    had = hasattr(collections, 'Sequence')
    if not had:
        collections.Sequence = collections.abc.Sequence  # type: ignore
    try:
        yield
    finally:
        if not had:
            del collections.Sequence  # type: ignore


# module name -> context its code must run in
_PATCHES: Dict[str, Callable] = {
    'mmrotate':
    lambda: _mmdet_version_seen_as(_MMDET_VERSION_MMROTATE_ACCEPTS),
    'mmrotate.models.detectors.refine_single_stage': _collections_sequence,
}


class _PatchedLoader(importlib.abc.Loader):

    def __init__(self, loader: importlib.abc.Loader, patch: Callable):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with self._patch():
            self._loader.exec_module(module)

    def __getattr__(self, name):  # get_source, get_code, ... for tracebacks
        return getattr(self._loader, name)


class MMRotateImportFinder(importlib.abc.MetaPathFinder):
    """Finds the patched mmrotate modules with the normal path finder and
    wraps their loader."""

    def find_spec(self, fullname: str, path=None, target=None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchedLoader(spec.loader, patch)
        return spec


def install_mmrotate_import_shim() -> None:
    """Put the finder first on ``sys.meta_path`` (once).

    Matched by class name: the startup hook (:func:`startup_pth_line`) loads
    this file as a separate module before ``mmprune`` is importable.
    """
    if any(type(f).__name__ == MMRotateImportFinder.__name__
           for f in sys.meta_path):
        return
    sys.meta_path.insert(0, MMRotateImportFinder())


def startup_pth_line() -> str:
    """A ``.pth`` line that installs the finder at interpreter start.

    Needed because some mmrotate code runs in fresh interpreters that never
    import mmprune: DOTAMetric evaluates in a ``spawn`` process pool whose
    workers import mmrotate to unpickle their tasks. The line loads only this
    file (stdlib imports only), so interpreter start stays fast.
    """
    path = os.path.abspath(__file__)
    return ('import importlib.util as _u; _s = _u.spec_from_file_location('
            f'"_mmprune_mmrotate_import", {path!r}); _m = '
            '_u.module_from_spec(_s); _s.loader.exec_module(_m); '
            '_m.install_mmrotate_import_shim()\n')
