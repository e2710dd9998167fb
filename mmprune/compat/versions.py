"""The versions mmprune supports, checked when it is imported.

mmprune installs into the user's own environment and does not install
torch or the OpenMMLab libraries itself (``pip install mmprune[mim]`` adds
the OpenMMLab ones with these ranges). A version outside a range fails at
``import mmprune`` with the range named, not deep inside a prune:
Torch-Pruning in particular, whose internals mmprune extends
(``mmprune.core.structured``), must be a release those extensions were
written against.

``TESTED`` is the reproducible environment (``requirements/constraints.txt``)
that CI runs; the rest of each range is declared, not tested.
"""
from importlib import metadata
from typing import Dict, Optional

from packaging.specifiers import SpecifierSet
from packaging.version import Version

#: distribution -> the versions mmprune runs with
SUPPORTED: Dict[str, str] = {
    # weights_only loading with allow-listed globals, torch.onnx.export's
    # TorchScript exporter chosen by dynamo=False
    'torch': '>=2.5,<3',
    # mmprune extends Torch-Pruning's dependency graph and pruner internals
    'torch-pruning': '>=1.6.1,<1.7',
    'mmengine': '>=0.10.0,<1.0.0',
    'mmcv': '>=2.0.0,<2.2.0',
    'mmdet': '>=3.0.0,<3.4.0',
    'mmsegmentation': '>=1.0.0,<1.3.0',
    # the import shim (compat.mmrotate_import) repairs exactly this release
    'mmrotate': '==1.0.0rc1',
}

#: the versions CI installs and tests (requirements/constraints.txt)
TESTED: Dict[str, str] = {
    'torch': '2.13.0',
    'torch-pruning': '1.6.1',
    'mmengine': '0.10.7',
    'mmcv': '2.1.0',
    'mmdet': '3.3.0',
    'mmsegmentation': '1.2.2',
    'mmrotate': '1.0.0rc1',
}

#: checked at ``import mmprune`` (the task libraries when they are used)
REQUIRED_AT_IMPORT = ('torch', 'torch-pruning', 'mmengine')


class UnsupportedVersionError(ImportError):
    """An installed package outside mmprune's supported range."""


def installed_version(dist: str) -> Optional[str]:
    """The installed version of distribution ``dist``, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_version(dist: str, version: Optional[str] = None) -> None:
    """Raise :class:`UnsupportedVersionError` when ``dist`` (at
    ``version``, default: the installed one) is missing or outside
    :data:`SUPPORTED`, naming the range and the tested version."""
    spec = SUPPORTED[dist]
    version = version if version is not None else installed_version(dist)
    install = f'pip install "{dist}{spec}"'
    if version is None:
        raise UnsupportedVersionError(
            f'mmprune needs {dist}{spec} (tested: {TESTED[dist]}), which '
            f'is not installed: {install}')
    # a local build tag (2.13.0+cpu, 2.13.0+cu128) is the same release
    public = Version(version).public
    if not SpecifierSet(spec, prereleases=True).contains(public):
        raise UnsupportedVersionError(
            f'mmprune supports {dist}{spec} (tested: {TESTED[dist]}); '
            f'{version} is installed. Install a supported one: {install}')


def check_required_versions() -> None:
    """What every use of mmprune needs, checked at import."""
    for dist in REQUIRED_AT_IMPORT:
        check_version(dist)
