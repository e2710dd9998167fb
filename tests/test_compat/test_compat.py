"""Each compatibility shim, with a test that fails when it is removed."""
import collections
import io
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmprune  # noqa: F401
from mmprune.compat import adapt_cfg_for_cpu_ddp
from mmprune.compat.mmrotate_import import MMRotateImportFinder


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_mmrotate_imports_through_mmprune():
    # a fresh interpreter: mmrotate must not have been imported before
    proc = _python(
        'import mmprune, collections\n'
        'import mmrotate.models.detectors.refine_single_stage as m\n'
        'import mmdet\n'
        'assert mmdet.__version__ == "3.3.0", mmdet.__version__\n'
        'assert not hasattr(collections, "Sequence")\n'
        'print("ok", m.RefineSingleStageDetector.__name__)')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'ok RefineSingleStageDetector' in proc.stdout


def test_mmrotate_needs_the_shim():
    """Without mmprune's finder, mmrotate 1.0.0rc1 does not import here:
    the shim is still needed (when this fails, the shim can go)."""
    proc = _python('import sys\n'
                   'sys.meta_path[:] = [f for f in sys.meta_path\n'
                   '    if type(f).__name__ != "MMRotateImportFinder"]\n'
                   'import mmrotate')
    assert proc.returncode != 0
    assert 'incompatible with MMRotate' in proc.stderr


def test_mmrotate_evaluation_pool_imports_mmrotate():
    """DOTAMetric's mAP runs in a ``spawn`` pool whose workers import
    mmrotate to unpickle their tasks without importing mmprune; the pool
    installs the finder in each worker first (without it, each worker dies
    on mmrotate's version assert and the pool hangs: the timeout)."""
    proc = _python(
        'import numpy as np\n'
        'import mmprune\n'
        'from mmrotate.evaluation.functional import eval_rbbox_map\n'
        'det = [[np.array([[10, 10, 8, 4, 0.1, 0.9]], np.float32)]]\n'
        'ann = [dict(bboxes=np.array([[10, 10, 8, 4, 0.1]], np.float32),\n'
        '            bboxes_ignore=np.zeros((0, 5), np.float32),\n'
        '            labels_ignore=np.zeros(0, np.int64),\n'
        '            labels=np.array([0]))]\n'
        'mean_ap, _ = eval_rbbox_map(det, ann, nproc=2, logger="silent")\n'
        'print("mAP", round(float(mean_ap), 3))')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'mAP 1.0' in proc.stdout


def test_no_startup_file_is_needed():
    """Nothing in the environment installs the finder at interpreter
    start: a plain ``import mmrotate`` without mmprune still fails, so the
    test above covers the workers through the pool alone."""
    proc = _python('import mmrotate')
    assert proc.returncode != 0
    assert 'incompatible with MMRotate' in proc.stderr


def test_finder_installed_once():
    finders = [
        f for f in sys.meta_path
        if type(f).__name__ == MMRotateImportFinder.__name__
    ]
    assert len(finders) == 1
    assert not hasattr(collections, 'Sequence')


def _history_checkpoint() -> bytes:
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('mmprune_test_compat')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    ckpt = dict(
        meta=dict(
            epoch=1,
            seed=np.int64(3),
            dataset_meta=dict(classes=('a', 'b')),
            hist=np.arange(3, dtype=np.float32)),
        state_dict=dict(w=torch.ones(2)),
        message_hub=hub.state_dict())
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return buf.getvalue()


def test_mmengine_checkpoint_loads_weights_only():
    data = _history_checkpoint()
    ckpt = torch.load(io.BytesIO(data), weights_only=True)
    assert ckpt['meta']['seed'] == 3
    hist = ckpt['message_hub']['log_scalars']['train/loss']
    assert hist.mean() == pytest.approx(1.0)


def test_checkpoint_needs_the_allow_list():
    """With torch's defaults alone the same checkpoint is refused."""
    data = _history_checkpoint()
    # a fresh interpreter without mmprune: torch's allow-list only
    proc = subprocess.run([
        sys.executable, '-c', 'import io, sys, torch\n'
        'torch.load(io.BytesIO(sys.stdin.buffer.read()), '
        'weights_only=True)'
    ],
                          input=data,
                          capture_output=True,
                          timeout=120)
    assert proc.returncode != 0
    assert b'Weights only load failed' in proc.stderr


class _RunsCode:

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned', ))


class _ReachesAttributes:
    """Uses the allowed ``getattr`` name to reach beyond the statistics
    methods of HistoryBuffer."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload', [_RunsCode, _ReachesAttributes])
def test_weights_only_still_refuses_code(payload):
    buf = io.BytesIO()
    torch.save({'x': payload()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf, weights_only=True)


def test_cpu_ddp_model_wrapper_cfg():
    cfg = Config(dict(find_unused_parameters=True))
    adapt_cfg_for_cpu_ddp(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg.type == 'mmprune.CPUDistributedDataParallel'
    assert 'device_ids' not in cfg.model_wrapper_cfg
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    plain = Config(dict())
    adapt_cfg_for_cpu_ddp(plain, 'none')
    assert 'model_wrapper_cfg' not in plain


def test_cpu_ddp_wrapper_reverts_syncbn_and_drops_device_ids():
    """What the runner does with the wrapper: device_ids=[rank] and a model
    holding SyncBN (from a config or converted by model code, as RTMDet
    does). Plain DDP refuses both on CPU."""
    import torch.distributed as dist
    from torch import nn

    from mmprune.compat import CPUDistributedDataParallel
    dist.init_process_group(
        'gloo', init_method='tcp://127.0.0.1:29571', rank=0, world_size=1)
    try:
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        with pytest.raises(ValueError, match='device_ids'):
            torch.nn.parallel.DistributedDataParallel(model, device_ids=[0])
        wrapped = CPUDistributedDataParallel(module=model, device_ids=[0])
        assert not any(
            isinstance(m, nn.SyncBatchNorm) for m in wrapped.modules())
        out = wrapped(torch.rand(2, 3, 8, 8))
        assert out.shape == (2, 4, 6, 6)
    finally:
        dist.destroy_process_group()
