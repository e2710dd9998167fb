"""Compatibility shims for the pinned OpenMMLab stack, in one place.

Each shim fixes one measured incompatibility (see README, "Compatibility
layer"); :func:`apply_all` is called by ``import mmprune`` before anything
imports mmrotate. Every shim is narrow: it acts only on the module or call
it repairs and never loosens checkpoint loading.

- :mod:`.versions`: the supported version ranges, checked at import.
- :mod:`.task_libraries`: mmdet, mmseg and mmrotate are each optional.
- :mod:`.mmrotate_import`: mmrotate 1.0.0rc1 imports next to mmdet 3.3.0 on
  Python >= 3.10, in mmrotate's evaluation workers too.
- :mod:`.package_lookup`: ``mmdet::`` config bases resolve without
  ``pkg_resources`` (gone in setuptools 82).
- :mod:`.warnings_once`: an upstream warning shows once per run.
- :mod:`.safe_checkpoint`: mmengine checkpoints load with
  ``torch.load(weights_only=True)``.
- :mod:`.cpu_ddp`: multi-process CPU runs (gloo) start gloo themselves and
  wrap the model in ``mmprune.CPUDistributedDataParallel`` (no
  ``device_ids``, BN for SyncBN): mmengine and torch assume CUDA there.
"""
# first: an unsupported torch or Torch-Pruning is named before anything
# fails on it
from .versions import check_required_versions

check_required_versions()

from .cpu_ddp import CPUDistributedDataParallel  # noqa: E402
from .cpu_ddp import adapt_cfg_for_cpu_ddp  # noqa: E402
from .cpu_ddp import close_cpu_process_group  # noqa: E402
from .cpu_ddp import init_cpu_process_group  # noqa: E402
from .mmrotate_import import install_mmrotate_import_shim  # noqa: E402
from .package_lookup import install_package_lookup  # noqa: E402
from .safe_checkpoint import allow_mmengine_checkpoint_globals  # noqa: E402
from .warnings_once import show_upstream_warnings_once  # noqa: E402

_applied = False


def apply_all() -> None:
    """Apply every import-time shim once (idempotent)."""
    global _applied
    if _applied:
        return
    install_mmrotate_import_shim()
    install_package_lookup()
    show_upstream_warnings_once()
    allow_mmengine_checkpoint_globals()
    _applied = True


__all__ = [
    'apply_all', 'adapt_cfg_for_cpu_ddp', 'init_cpu_process_group',
    'close_cpu_process_group', 'CPUDistributedDataParallel',
    'check_required_versions', 'install_package_lookup',
    'install_mmrotate_import_shim', 'allow_mmengine_checkpoint_globals'
]
