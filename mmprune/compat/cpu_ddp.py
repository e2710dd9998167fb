"""Let mmengine run a multi-process job on CPU (gloo).

- mmengine 0.10.7's ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]``
  when a config has no ``model_wrapper_cfg``; PyTorch rejects device_ids for
  a CPU module. With a ``model_wrapper_cfg`` the runner builds the wrapper
  from it alone, so a default that leaves ``device_ids`` unset is all it
  takes.
- torch's SyncBatchNorm refuses CPU tensors; model-zoo configs (RTMDet,
  SegFormer, LSKNet) ask for SyncBN, so a CPU run uses plain BN (statistics
  per process) and says so in the log.
- mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU build
  of torch lacks (see :func:`init_cpu_process_group`).
"""
from typing import Any

import torch
from mmengine.config import Config
from mmengine.logging import print_log

_SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'TorchSyncBN', 'SyncBatchNorm')


def _sync_bn_to_bn(node: Any) -> int:
    count = 0
    if isinstance(node, dict):
        if node.get('type') in _SYNC_BN_TYPES:
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _sync_bn_to_bn(value)
    return count


def adapt_cfg_for_cpu_ddp(cfg: Config, launcher: str) -> Config:
    """Give a distributed CPU run a ``model_wrapper_cfg`` without device_ids
    and plain BN in place of SyncBN.

    Does nothing for non-distributed runs or on GPU machines; a config's own
    ``model_wrapper_cfg`` is kept.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if _sync_bn_to_bn(cfg.get('model')):
        print_log('CPU distributed run: SyncBN layers use plain BN (torch\'s '
                  'SyncBatchNorm needs a GPU)', logger='current')
    cfg.pop('sync_bn', None)
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
