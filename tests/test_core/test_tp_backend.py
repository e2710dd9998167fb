"""Torch-Pruning's internals are reached from ``mmprune.core.tp_backend``
only, and that package names the releases it was written against."""
import ast
import importlib
import inspect
import os
import os.path as osp
import pkgutil

import pytest
import torch_pruning as tp
from conftest import REPO

import mmprune
from mmprune.compat import versions

BACKEND = 'mmprune.core.tp_backend'
METHODS = (type(lambda: 0), property, staticmethod, classmethod)


def _attribute_chain(node) -> list:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def _outside_backend():
    for root, _, files in os.walk(osp.join(REPO, 'mmprune')):
        if osp.join('core', 'tp_backend') in root:
            continue
        for f in files:
            if f.endswith('.py'):
                yield osp.join(root, f)


def test_only_the_backend_imports_or_reads_torch_pruning_internals():
    bad = []
    for path in _outside_backend():
        where = osp.relpath(path, REPO)
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split('.')[0] == 'torch_pruning':
                bad.append(f'{where}:{node.lineno} from {node.module} import')
            elif isinstance(node, ast.Import) and any(
                    a.name.startswith('torch_pruning.') for a in node.names):
                bad.append(f'{where}:{node.lineno} imports a submodule')
            elif isinstance(node, ast.Attribute):
                chain = _attribute_chain(node)
                if chain[:1] == ['tp'] and any(
                        p.startswith('_') for p in chain[1:]):
                    bad.append(f'{where}:{node.lineno} {".".join(chain)}')
    assert not bad, '\n'.join(bad)


def _mmprune_classes():
    for info in pkgutil.walk_packages(mmprune.__path__, 'mmprune.'):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name:
                yield cls


def test_only_the_backend_overrides_torch_pruning_private_methods():
    """A private method of a Torch-Pruning class that an mmprune class
    (or a mixin of one) replaces is an internal: it may change in any
    release."""
    bad = set()
    for cls in _mmprune_classes():
        tp_bases = [
            c for c in cls.__mro__
            if c.__module__.split('.')[0] == 'torch_pruning'
        ]
        private = {
            name
            for base in tp_bases
            for name, value in vars(base).items() if name.startswith('_')
            and not name.startswith('__') and isinstance(value, METHODS)
        }
        for name in private:
            owner = next(c for c in cls.__mro__ if name in vars(c))
            if owner.__module__.startswith('mmprune.') and \
                    not owner.__module__.startswith(BACKEND):
                bad.add(f'{owner.__module__}.{owner.__qualname__}.{name}')
    assert not bad, sorted(bad)


def test_the_backend_overrides_what_it_says():
    """The scan above sees the overrides it is meant to confine."""
    from mmprune.core.tp_backend import BNScaleImportance, SegmentAwarePruner
    assert issubclass(SegmentAwarePruner, tp.pruner.BasePruner)
    assert '_round_to' in vars(SegmentAwarePruner)
    assert any('_reduce' in vars(c) for c in BNScaleImportance.__mro__
               if c.__module__.startswith(BACKEND))


def test_another_torch_pruning_release_is_named_at_import(monkeypatch):
    import mmprune.core.tp_backend as backend
    real = versions.installed_version
    monkeypatch.setattr(
        versions, 'installed_version', lambda dist: '1.7.0'
        if dist == 'torch-pruning' else real(dist))
    with pytest.raises(versions.UnsupportedVersionError) as e:
        importlib.reload(backend)
    assert 'torch-pruning>=1.6.1,<1.7' in str(e.value)
    assert '1.7.0 is installed' in str(e.value)
    monkeypatch.undo()
    importlib.reload(backend)
    assert backend.TORCH_PRUNING_RANGE == versions.SUPPORTED['torch-pruning']
