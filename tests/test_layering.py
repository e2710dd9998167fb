"""The layers stay visible. From the bottom: the core (torch, Torch-Pruning,
mmengine's registry and config; no runner, no OpenMMLab model library),
datasets, models (with the model families and their layer pruners),
deployment, analysis, the MMEngine side (hooks, run helpers) and, on top,
the user API (``mmprune.apis``). A layer imports only layers below it;
nothing in the package imports the API or the tools."""
import ast
import os
import os.path as osp

import pytest
from conftest import REPO

PKG = osp.join(REPO, 'mmprune')

#: bottom to top
LAYERS = ('core', 'datasets', 'models', 'deployment', 'analysis', 'engine',
          'apis')

# what else a layer must not import (prefixes)
LIBRARIES = {
    'core': ('mmengine.runner', 'mmengine.hooks', 'mmengine.model', 'mmdet',
             'mmseg', 'mmrotate', 'mmcv'),
    'models': ('mmengine.runner', 'mmengine.hooks'),
}


def _imports(path: str, names: bool = False):
    """(line, absolute module name) of every import in a file; relative
    imports resolved against the file's package. With ``names``, each
    imported name is also given as ``module.name`` (it may be a
    submodule)."""
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
            if names:
                for alias in node.names:
                    yield node.lineno, f'{name}.{alias.name}'


def _files(sub: str):
    for root, _, files in os.walk(osp.join(PKG, sub)):
        for f in files:
            if f.endswith('.py'):
                yield osp.join(root, f)


def _forbidden(layer: str) -> tuple:
    above = LAYERS[LAYERS.index(layer) + 1:]
    return tuple(f'mmprune.{a}' for a in above) + ('tools', ) + \
        LIBRARIES.get(layer, ())


@pytest.mark.parametrize('layer', LAYERS)
def test_layer_imports_only_what_is_below_it(layer):
    forbidden = _forbidden(layer)
    bad = [
        f'{osp.relpath(path, REPO)}:{line} imports {name}'
        for path in _files(layer) for line, name in _imports(path)
        if name and (name + '.').startswith(tuple(f + '.' for f in forbidden))
    ]
    assert not bad, '\n'.join(bad)


def test_the_rule_catches_an_upward_import(tmp_path):
    """The walk resolves relative imports, so ``from ..engine import x``
    inside the core counts as importing the engine."""
    path = osp.join(PKG, 'core', 'structured', 'stepping.py')
    names = [n for _, n in _imports(path)]
    assert 'mmprune.core.tracing' in names  # from ..tracing import ...
    assert 'mmprune.engine' in _forbidden('core')
    assert 'mmprune.apis' in _forbidden('engine')


def _module_name(path: str) -> str:
    name = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    return name[:-len('.__init__')] if name.endswith('.__init__') else name


def _cycle(graph: dict) -> list:
    """One import cycle of ``graph`` (module -> imported modules), or []."""
    state = {}

    def visit(node, path):
        state[node] = 'open'
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 'open':
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 'done'
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return []


def test_no_import_cycle():
    """No module imports one that imports it back, at the top of a file or
    inside a function (a lazy import hides a cycle; it does not remove
    it)."""
    paths = {_module_name(p): p for p in _files('')}
    graph = {
        m: {n
            for _, n in _imports(p, names=True) if n in paths and n != m}
        for m, p in paths.items()
    }
    assert not _cycle(graph), ' -> '.join(_cycle(graph))
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
