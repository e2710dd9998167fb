"""Compatibility shims for the pinned OpenMMLab stack, in one place.

Each shim fixes one measured incompatibility (see README, "Compatibility
layer"); :func:`apply_all` is called by ``import mmprune`` before anything
imports mmrotate. Every shim is narrow: it acts only on the module or call
it repairs and never loosens checkpoint loading.

- :mod:`.mmrotate_import`: mmrotate 1.0.0rc1 imports next to mmdet 3.3.0 on
  Python >= 3.10.
- :mod:`.safe_checkpoint`: mmengine checkpoints load with
  ``torch.load(weights_only=True)``.
- :mod:`.cpu_ddp`: multi-process CPU runs (gloo) wrap the model without
  ``device_ids`` and start gloo themselves (mmengine assumes CUDA).
"""
from .cpu_ddp import adapt_cfg_for_cpu_ddp, init_cpu_process_group
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
    'install_mmrotate_import_shim',
    'allow_mmengine_checkpoint_globals'
]
