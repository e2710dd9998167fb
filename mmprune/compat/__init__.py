"""Compatibility shims for the pinned OpenMMLab stack, in one place.

Each shim fixes one measured incompatibility (see README, "Compatibility
layer"); :func:`apply_all` is called by ``import mmprune`` before anything
imports mmrotate. Every shim is narrow: it acts only on the module or call
it repairs and never loosens checkpoint loading.

- :mod:`.mmrotate_import`: mmrotate 1.0.0rc1 imports next to mmdet 3.3.0 on
  Python >= 3.10; ``tools/install.sh`` also installs it at interpreter start
  (a ``.pth`` line) for spawned workers that never import mmprune.
- :mod:`.safe_checkpoint`: mmengine checkpoints load with
  ``torch.load(weights_only=True)``.
- :mod:`.cpu_ddp`: multi-process CPU runs (gloo) start gloo themselves and
  wrap the model in ``mmprune.CPUDistributedDataParallel`` (no
  ``device_ids``, BN for SyncBN): mmengine and torch assume CUDA there.
"""
from .cpu_ddp import (CPUDistributedDataParallel, adapt_cfg_for_cpu_ddp,
                      init_cpu_process_group)
from .mmrotate_import import install_mmrotate_import_shim
from .safe_checkpoint import allow_mmengine_checkpoint_globals

_applied = False


def apply_all() -> None:
    """Apply every import-time shim once (idempotent)."""
    global _applied
    if _applied:
        return
    install_mmrotate_import_shim()
    allow_mmengine_checkpoint_globals()
    _applied = True


__all__ = [
    'apply_all', 'adapt_cfg_for_cpu_ddp', 'init_cpu_process_group',
    'CPUDistributedDataParallel',
    'install_mmrotate_import_shim', 'allow_mmengine_checkpoint_globals'
]
