"""Let mmengine run a multi-process job on CPU (gloo).

- mmengine 0.10.7's ``Runner.wrap_model`` gives a DDP wrapper
  ``device_ids=[LOCAL_RANK]``; PyTorch rejects device_ids for a CPU module.
- torch's SyncBatchNorm refuses CPU tensors, and SyncBN comes both from
  configs (RTMDet, SegFormer, LSKNet ask for it) and from model code (mmdet's
  RTMDet converts its BN itself when the world size is > 1).
- mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU build
  of torch lacks.

So a CPU run gets :class:`CPUDistributedDataParallel` (no device_ids, every
SyncBN turned back into BN just before wrapping, whatever created it), and
the tools start the gloo process group themselves.
"""
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from mmprune.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: plain BN (statistics
    per process) in place of SyncBN, and no ``device_ids``."""

    def __init__(self, module: torch.nn.Module, device_ids=None, **kwargs):
        # the runner passes device_ids=[LOCAL_RANK] to every DDP wrapper
        del device_ids
        # torch's and mmcv's SyncBN classes share this name; both are
        # reverted by revert_sync_batchnorm
        had_sync_bn = any(
            type(m).__name__ == 'SyncBatchNorm' for m in module.modules())
        module = revert_sync_batchnorm(module)
        if had_sync_bn:
            print_log(
                'CPU distributed run: SyncBN layers use plain BN '
                '(torch\'s SyncBatchNorm needs a GPU)',
                logger='current')
        super().__init__(module=module, device_ids=None, **kwargs)


def adapt_cfg_for_cpu_ddp(cfg: Config, launcher: str) -> Config:
    """Wrap the model of a distributed CPU run in
    :class:`CPUDistributedDataParallel`.

    Does nothing for non-distributed runs or on GPU machines; a config's own
    ``model_wrapper_cfg`` is kept.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='mmprune.CPUDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return cfg


def init_cpu_process_group(launcher: str) -> bool:
    """Start the gloo process group for a ``--launcher pytorch`` CPU run.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU
    build of torch lacks. The runner skips ``init_dist`` when a process group
    exists already, so starting it here is enough. Returns True when it
    started one.
    """
    import torch.distributed as dist
    if launcher != 'pytorch' or torch.cuda.is_available() or \
            dist.is_initialized():
        return False
    dist.init_process_group(backend='gloo')
    return True


def close_cpu_process_group() -> None:
    """Leave the gloo process group of a finished CPU run on every rank
    together, as torch asks before a process exits: left to the
    interpreter's exit, gloo's threads can be torn down in any order, and
    a rank may abort ("terminate called without an active exception")
    after its run finished."""
    import torch.distributed as dist
    if torch.cuda.is_available() or not dist.is_initialized() or \
            dist.get_backend() != 'gloo':
        return
    dist.barrier()
    dist.destroy_process_group()
