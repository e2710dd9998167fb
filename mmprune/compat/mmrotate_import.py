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

Some mmrotate code runs in fresh interpreters that never import mmprune:
DOTAMetric's mAP (``eval_rbbox_map``) computes in a ``spawn`` process pool
whose workers import mmrotate to unpickle their tasks. Its pools get an
initializer that installs the finder in each worker first (loading this
file alone, stdlib imports only), so no startup file in the user's
environment is needed.
"""
import collections
import collections.abc
import importlib.abc
import importlib.machinery
import multiprocessing
import os
import sys
from contextlib import contextmanager
from types import ModuleType
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


class _ContextInstallingShim:
    """A ``multiprocessing`` context whose pools install the finder in each
    worker before it unpickles a task."""

    def __init__(self, context) -> None:
        self._context = context

    def Pool(self,
             processes=None,
             initializer=None,
             initargs=(),
             *args,
             **kwargs):
        if initializer is None:
            initializer, initargs = exec, (startup_code(), {})
        return self._context.Pool(processes, initializer, initargs, *args,
                                  **kwargs)

    def __getattr__(self, name):
        return getattr(self._context, name)


def _get_context_installing_shim(method=None) -> _ContextInstallingShim:
    return _ContextInstallingShim(multiprocessing.get_context(method))


def _pools_install_the_shim(module: ModuleType) -> None:
    module.get_context = _get_context_installing_shim


# module name -> what to change in it once it has executed
_AFTER: Dict[str, Callable[[ModuleType], None]] = {
    'mmrotate.evaluation.functional.mean_ap': _pools_install_the_shim,
}


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class _PatchedLoader(importlib.abc.Loader):

    def __init__(self, loader: importlib.abc.Loader, patch: Callable,
                 after: Callable[[ModuleType], None]):
        self._loader = loader
        self._patch = patch
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with self._patch():
            self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, name):  # get_source, get_code, ... for tracebacks
        return getattr(self._loader, name)


class MMRotateImportFinder(importlib.abc.MetaPathFinder):
    """Finds the patched mmrotate modules with the normal path finder and
    wraps their loader."""

    def find_spec(self,
                  fullname: str,
                  path=None,
                  target=None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in _PATCHES and fullname not in _AFTER:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchedLoader(spec.loader,
                                     _PATCHES.get(fullname, _nothing),
                                     _AFTER.get(fullname, lambda m: None))
        return spec


def install_mmrotate_import_shim() -> None:
    """Put the finder first on ``sys.meta_path`` (once).

    Matched by class name: a pool worker (:func:`startup_code`) loads this
    file as a separate module, and may import mmprune afterwards.
    """
    if any(
            type(f).__name__ == MMRotateImportFinder.__name__
            for f in sys.meta_path):
        return
    sys.meta_path.insert(0, MMRotateImportFinder())


def startup_code() -> str:
    """Python code that installs the finder in a fresh interpreter by
    loading only this file (stdlib imports only): what each worker of
    mmrotate's evaluation pools runs first."""
    path = os.path.abspath(__file__)
    return ('import importlib.util as _u; _s = _u.spec_from_file_location('
            f'"_mmprune_mmrotate_import", {path!r}); _m = '
            '_u.module_from_spec(_s); _s.loader.exec_module(_m); '
            '_m.install_mmrotate_import_shim()\n')
