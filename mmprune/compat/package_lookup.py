"""Find installed OpenMMLab packages without ``pkg_resources``.

mmengine 0.10.7 resolves a config's ``_base_ = 'mmdet::...'`` through
``is_installed`` and ``get_installed_path``, which import
``pkg_resources``: setuptools 81 deprecates it and 82 removes it, and
Python 3.12's venvs come without setuptools at all. mmengine's config
module gets versions of the two that ask ``importlib`` instead, so mmprune
need not pin the user's setuptools. Both give what mmengine's give for an
importable package (its folder); a name that is no module is looked up as
a distribution (``mmcv-full`` style) through ``importlib.metadata``.
"""
import importlib.util
import os.path as osp
from importlib import metadata


def _module_of(package: str) -> str:
    """The top-level module of ``package``: itself if it imports, else the
    first one its distribution installs."""
    if importlib.util.find_spec(package) is not None:
        return package
    dist = metadata.distribution(package)  # PackageNotFoundError if none
    top = (dist.read_text('top_level.txt') or '').split()
    if not top:
        raise ValueError(f'can not infer the module name of {package}')
    return top[0]


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without ``pkg_resources``."""
    try:
        module = _module_of(package)
    except (metadata.PackageNotFoundError, ValueError):
        return False
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``."""
    spec = importlib.util.find_spec(_module_of(package))
    if spec is None:
        raise ModuleNotFoundError(f'{package} is not installed', name=package)
    if spec.origin is None:
        raise RuntimeError(f'{package} is a namespace package, which is '
                           'invalid for `get_install_path`')
    return osp.dirname(spec.origin)


def install_package_lookup() -> None:
    """Give mmengine's config module these two functions (the only users
    of them on the way from a config file to a model)."""
    import mmengine.config.config as config_module
    config_module.is_installed = is_installed
    config_module.get_installed_path = get_installed_path
