"""What many test modules share: the baseline configs, tiny loaders, the
session's shapes data, running a tool as a user would. Test modules import
from here, never from one another."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import List

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# The suite runs in two pytest-xdist workers on two cores (setup.cfg):
# each worker and each tool it starts gets one thread, so that the two
# never oversubscribe the cores (two 2-thread torch processes on 2 cores
# ran 5-10x slower); run alone, tools get two.
PARALLEL = 'PYTEST_XDIST_WORKER' in os.environ
THREADS = '1' if PARALLEL else '2'
if PARALLEL:
    torch.set_num_threads(1)

# the baseline configs on the shapes data
RTMDET = osp.join(REPO, 'configs/rtmdet/rtmdet_tiny_12e_shapes.py')
ORCNN = osp.join(
    REPO, 'configs/oriented_rcnn/'
    'oriented-rcnn-le90_r18_fpn_4e_shapes.py')
SEGFORMER = osp.join(
    REPO, 'configs/segformer/'
    'segformer_mit-b0_8xb8-2k_shapes-128x128.py')
YOLOX = osp.join(
    REPO, 'configs/pruning/yolox/'
    'yolox_tiny_slim-3cycles-r8_4e_shapes.py')
# the metric each library's stock evaluator prints
METRICS = dict(mmdet='coco/bbox_mAP', mmrotate='dota/mAP', mmseg='mIoU')

# Tiny data and loaders for every baseline: 4 training images, batch 2, so
# one epoch is two iterations; 2 validation images.
TINY_LOADERS = '''
shapes_tiny = dict(img_size=128, min_object_size=16, max_object_size=48,
                   max_objects=3)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=4)))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(shapes=dict(shapes_tiny, num_images=2)))
test_dataloader = val_dataloader
'''


def tracing_cfg(path: str, data_dir: str, **shapes) -> Config:
    """``path``'s config with a tiny train loader (batch 2, no workers, 2
    images unless ``shapes`` says otherwise) over its own shapes split in
    ``data_dir``: for in-process tracing, pruning and loss checks."""
    cfg = Config.fromfile(path)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.shapes.update({'num_images': 2, **shapes})
    cfg.train_dataloader.dataset.data_root = osp.join(str(data_dir), '')
    return cfg


@pytest.fixture(scope='session', autouse=True)
def shapes_cache(tmp_path_factory) -> str:
    """Every test (and every tool it runs) generates shapes data into one
    session cache, never into the repository."""
    root = str(tmp_path_factory.mktemp('mmprune_data'))
    os.environ['MMPRUNE_DATA'] = root
    return root


@pytest.fixture(scope='session', autouse=True)
def mmprune_cache(tmp_path_factory) -> str:
    """Measurements mmprune caches (convolution timings, sensitivity scans)
    go to a session folder: a test never reads a user's cache, nor one an
    earlier session left."""
    root = str(tmp_path_factory.mktemp('mmprune_cache'))
    os.environ['MMPRUNE_CACHE_DIR'] = root
    return root


def run_tool(args: List[str],
             timeout: int = 600,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repository root, as a user would."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=THREADS)
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc


def run_two_processes(cfg: str, work: str, port: str) -> str:
    """``tools/dist_train.sh CONFIG 2`` on the CPU (gloo, batch 1 per
    rank, one thread each); the log, or a failure with the tails of both
    streams (where the run had got to, and how it ended)."""
    env = dict(
        os.environ, PYTHON=sys.executable, PORT=port, OMP_NUM_THREADS='1')
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work,
        '--cfg-options', 'train_dataloader.batch_size=1'
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, \
        proc.stdout[-2000:] + '\n[stderr]\n' + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def assert_evaluated(log: str, lib: str) -> None:
    """The stock evaluator ran: it printed its metric, or (CocoMetric, when
    a two-iteration RTMDet still outputs degenerate boxes only) its report
    that there was nothing to score."""
    metric = METRICS[lib]
    assert re.search(re.escape(metric) + r': [-\d.]+', log) or (
        lib == 'mmdet'
        and 'The testing results of the whole dataset is empty' in log), \
        log[-3000:]


def load_checkpoint(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def state_shapes(model: nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def pruned_tiny_rtmdet(tmp_path, extra: str = ''):
    """A tiny-loader RTMDet config in ``tmp_path`` (plus ``extra`` config
    lines) and its random-init model pruned by l1 at 0.3, saved with its
    pruned structure as ``pruned.pth``: ``(config path, checkpoint path,
    model, result)``."""
    from mmengine.registry import init_default_scope

    from mmprune.core.structured import prune_model
    from mmprune.core.structured.pruned_structure import PrunedStructure
    from mmprune.datasets.synthetic_batch import synthetic_training_batch
    from mmprune.models.builder import build_model_from
    from mmprune.utils import read_config
    cfg_path = tmp_path / 'rtmdet_tiny.py'
    cfg_path.write_text(f'_base_ = {RTMDET!r}\n' + TINY_LOADERS + extra)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = build_model_from(read_config(str(cfg_path)))
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    ckpt = dict(state_dict=model.state_dict())
    PrunedStructure(
        history=result.history, done=[0], method='l1').to_checkpoint(ckpt)
    pth = str(tmp_path / 'pruned.pth')
    torch.save(ckpt, pth)
    return cfg_path, pth, model, result


# a tiny LSKNet Oriented R-CNN for weight inheritance
LSK_SHAPES = osp.join(REPO, 'configs/lsknet/lsk_s_fpn_3e_shapes_le90.py')

SHAPES_TINY = dict(
    img_size=128, min_object_size=16, max_object_size=48, max_objects=3)

LSK_TINY = {
    'model.backbone.embed_dims': [16, 32, 48, 64],
    'model.backbone.depths': [1, 1, 1, 1],
    'model.backbone.mlp_ratios': [4, 4, 4, 4],
    'model.neck.in_channels': [16, 32, 48, 64],
    'model.roi_head.bbox_head.fc_out_channels': 64,
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.shapes': dict(SHAPES_TINY, num_images=4),
    'val_dataloader.batch_size': 2,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'val_dataloader.dataset.shapes': dict(SHAPES_TINY, num_images=2),
    'test_dataloader.batch_size': 2,
    'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False,
    'test_dataloader.dataset.shapes': dict(SHAPES_TINY, num_images=2),
}


def lsk_fpn(width: int) -> dict:
    return {
        'model.neck.out_channels': width,
        'model.rpn_head.in_channels': width,
        'model.rpn_head.feat_channels': width,
        'model.roi_head.bbox_roi_extractor.out_channels': width,
        'model.roi_head.bbox_head.in_channels': width,
    }


def lsk_tiny_cfg(base: str = LSK_SHAPES, **changes) -> Config:
    """``base`` (an LSKNet Oriented R-CNN config) at tiny widths (FPN 32,
    RoI fc 64) and data, then ``changes``."""
    cfg = Config.fromfile(base)
    cfg.merge_from_dict(dict(LSK_TINY, **lsk_fpn(32)))
    cfg.merge_from_dict(changes)
    return cfg


def build_lsk(cfg: Config) -> nn.Module:
    from mmengine.registry import init_default_scope

    from mmprune.models.builder import build_model_from
    init_default_scope('mmrotate')
    torch.manual_seed(0)
    model = build_model_from(cfg)
    model.init_weights()
    return model
