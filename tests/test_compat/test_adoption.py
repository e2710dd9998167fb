"""mmprune in an environment it did not make: version ranges checked at
import, the task libraries optional, mmengine's config lookup without
``pkg_resources``, ``--device``, and every tool's ``--help``."""
import argparse
import glob
import os.path as osp
import runpy
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from mmprune.compat.task_libraries import MissingLibraryError
from mmprune.compat.versions import (SUPPORTED, UnsupportedVersionError,
                                     check_version)
from mmprune.utils.device import resolve_device

# run first in a fresh interpreter: mmseg and mmrotate look uninstalled
HIDE_SEG_AND_ROTATE = '''
import importlib.abc, importlib.util, sys
HIDDEN = ('mmseg', 'mmrotate')
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
_find_spec = importlib.util.find_spec
def find_spec(name, package=None):
    return None if name.split('.')[0] in HIDDEN else _find_spec(name, package)
importlib.util.find_spec = find_spec
sys.meta_path.insert(0, Hide())
'''


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)


@pytest.mark.parametrize('dist,version,ok', [
    ('torch-pruning', '1.6.1', True),
    ('torch-pruning', '1.6.9', True),
    ('torch-pruning', '1.5.2', False),
    ('torch-pruning', '1.7.0', False),
    ('torch', '2.13.0+cpu', True),
    ('torch', '2.13.0+cu128', True),
    ('torch', '2.4.1', False),
    ('mmrotate', '1.0.0rc1', True),
    ('mmrotate', '1.0.0', False),
])
def test_version_ranges(dist, version, ok):
    if ok:
        check_version(dist, version)
    else:
        with pytest.raises(UnsupportedVersionError) as e:
            check_version(dist, version)
        assert SUPPORTED[dist] in str(e.value) and version in str(e.value)


def test_an_unsupported_torch_pruning_fails_at_import():
    proc = _python('import importlib.metadata as md\n'
                   'real = md.version\n'
                   'md.version = lambda d: "1.5.3" if d == "torch-pruning" '
                   'else real(d)\n'
                   'import mmprune')
    assert proc.returncode != 0
    assert 'UnsupportedVersionError' in proc.stderr
    assert ('mmprune supports torch-pruning>=1.6.1,<1.7 (tested: 1.6.1); '
            '1.5.3 is installed') in proc.stderr


def test_mmdet_alone_imports_and_names_what_a_config_lacks():
    """Without mmseg and mmrotate: mmprune imports and registers its mmdet
    side; a segmentation config, the shapes seg dataset and the DOTA one
    each name the package to install."""
    proc = _python(HIDE_SEG_AND_ROTATE + '''
import mmprune
from mmprune.registry import DATASETS
from mmprune.utils import read_config
assert not [m for m in sys.modules if m.startswith(HIDDEN)]
print('coco', DATASETS.get('ShapesCocoDataset').__module__)
for what, build in [
        ('config', lambda: read_config('configs/pruning/segformer/'
            'segformer_mit-b1_l1-global-30_8xb1-160k_cityscapes-1024x1024.py')),
        ('zoo', lambda: read_config('mmseg::segformer/'
            'segformer_mit-b0_8xb2-160k_ade20k-512x512.py')),
        ('seg', lambda: DATASETS.build(dict(type='mmprune.ShapesSegDataset',
                                            data_root='x'))),
        ('dota', lambda: DATASETS.build(dict(type='mmprune.ShapesDOTADataset',
                                             data_root='x')))]:
    try:
        build()
    except Exception as e:
        print(what, type(e).__name__, e)
''')
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'coco mmprune.datasets.shapes_coco_dataset' in out
    assert ('configs/pruning/segformer/segformer_mit-b1_l1-global-30_8xb1-'
            '160k_cityscapes-1024x1024.py": its _base_ "mmseg::segformer/'
            'segformer_mit-b1_8xb1-160k_cityscapes-1024x1024.py" needs '
            'mmsegmentation') in out
    assert 'zoo MissingLibraryError config "mmseg::segformer/' in out
    assert ('seg MissingLibraryError mmprune.ShapesSegDataset needs '
            'mmsegmentation ("mmseg"), which is not installed: pip install '
            '"mmsegmentation>=1.0.0,<1.3.0"') in out
    assert ('dota MissingLibraryError mmprune.ShapesDOTADataset needs '
            'mmrotate') in out and 'pip install --no-deps' in out
    assert not osp.exists(osp.join(REPO, 'x'))  # refused before generating


def test_missing_library_error_is_an_import_error():
    assert issubclass(MissingLibraryError, ImportError)


def test_zoo_config_bases_resolve_without_pkg_resources():
    """setuptools 82 has no ``pkg_resources``, which mmengine 0.10.7 uses
    to find ``mmdet::`` bases; mmprune's lookup does without it."""
    proc = _python('''
import sys
sys.modules['pkg_resources'] = None  # import pkg_resources fails
import mmprune
from mmprune.utils import read_config
cfg = read_config('configs/rtmdet/rtmdet_tiny_12e_shapes.py')
zoo = read_config('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py')
print(cfg.model.type, zoo.model.backbone.deepen_factor)
''')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'RTMDet 0.167' in proc.stdout


def test_resolve_device():
    assert resolve_device('cpu') == torch.device('cpu')
    assert resolve_device(None).type == ('cuda' if torch.cuda.is_available()
                                         else 'cpu')
    with pytest.raises(ValueError, match="--device 'gpu0': not a device"):
        resolve_device('gpu0')
    with pytest.raises(ValueError, match='--device meta: mmprune runs on'):
        resolve_device('meta')
    if not torch.cuda.is_available():
        with pytest.raises(
                ValueError, match='--device cuda: torch .* sees '
                'no CUDA GPU'):
            resolve_device('cuda')


def _tools():
    """The user tools (the benchmark scripts are the developers')."""
    return sorted(
        glob.glob(osp.join(REPO, 'tools', '*.py')) + [
            p for p in glob.glob(osp.join(REPO, 'tools', '*', '*.py'))
            if osp.basename(osp.dirname(p)) != 'benchmarks'
        ])


def _parser_of(path: str, monkeypatch) -> argparse.ArgumentParser:
    """The parser a tool builds (its parse_args, stopped before parsing)."""
    module = runpy.run_path(path, run_name='tool_under_test')
    captured = {}

    def stop(self, *args, **kwargs):
        captured['parser'] = self
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', stop)
    monkeypatch.setattr(sys, 'argv', [path])
    with pytest.raises(SystemExit):
        fn = module.get('parse_args') or module['main']
        fn([]) if fn.__code__.co_argcount else fn()
    return captured['parser']


def test_every_tool_help_shows_its_whole_description_and_defaults(monkeypatch):
    tools = _tools()
    assert len(tools) >= 10
    for path in tools:
        parser = _parser_of(path, monkeypatch)
        text = parser.format_help()
        doc = (runpy.run_path(path, run_name='doc')['__doc__'] or '').strip()
        assert doc and doc.split('\n')[-1].strip() in text, path
        for action in parser._actions:
            if action.option_strings and action.nargs != 0 and \
                    action.default not in (None, argparse.SUPPRESS):
                line = parser._get_formatter()._format_action(action)
                assert '(default: ' in line, (path, action.dest)
            if '--cfg-options' in action.option_strings:
                assert 'key=value' in action.help, path
    prune = _parser_of(osp.join(REPO, 'tools', 'prune.py'), monkeypatch)
    assert '--device' in prune.format_help()


def test_an_upstream_warning_shows_once_per_run():
    """torch's tracer and mmengine's FLOPs counter clear Python's memory of
    shown warnings (catch_warnings); mmprune shows an upstream warning
    once all the same, and its own and the user's as before."""
    proc = _python('''
import warnings
import mmprune
for _ in range(3):
    with warnings.catch_warnings():
        pass
    warnings.warn_explicit('deprecated here', FutureWarning,
                           '/env/site-packages/torch/amp/autocast.py', 7)
    warnings.warn_explicit('mine', UserWarning, '/home/me/train.py', 3)
''')
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count('deprecated here') == 1
    assert proc.stderr.count('mine') == 3
