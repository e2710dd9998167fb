"""The layers stay visible: the core knows torch and Torch-Pruning but not
the runner or the OpenMMLab model libraries; the MMEngine side (hooks)
calls the core, never the tools."""
import ast
import os
import os.path as osp

import pytest

from conftest import REPO

PKG = osp.join(REPO, 'mmprune')


def _imports(path: str):
    """(line, absolute module name) of every import in a file; relative
    imports resolved against the file's package."""
    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    package = rel.rsplit('.', 1)[0] if not rel.endswith('__init__') \
        else rel[:-len('.__init__')]
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield node.lineno, name


def _files(sub: str):
    for root, _, files in os.walk(osp.join(PKG, sub)):
        for f in files:
            if f.endswith('.py'):
                yield osp.join(root, f)


# what each layer must not import (prefixes)
FORBIDDEN = {
    'core': ('mmprune.engine', 'mmprune.models', 'mmprune.apis',
             'mmprune.analysis', 'mmprune.deployment', 'mmprune.datasets',
             'mmengine.runner', 'mmengine.hooks', 'mmengine.model', 'mmdet',
             'mmseg', 'mmrotate', 'mmcv'),
    'models': ('mmprune.engine', 'mmengine.runner', 'mmengine.hooks'),
    'engine': ('tools', ),
}


@pytest.mark.parametrize('layer', sorted(FORBIDDEN))
def test_layer_imports_only_what_is_below_it(layer):
    bad = [f'{osp.relpath(path, REPO)}:{line} imports {name}'
           for path in _files(layer) for line, name in _imports(path)
           if name and name.startswith(FORBIDDEN[layer])]
    assert not bad, '\n'.join(bad)


def test_the_import_reader_sees_relative_imports():
    path = osp.join(PKG, 'core', 'structured', 'prune.py')
    names = {n for _, n in _imports(path)}
    assert 'mmprune.core.structured.options' in names
    assert 'torch_pruning' in names or any(
        n.startswith('torch_pruning') for n in names)
