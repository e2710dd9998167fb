"""Any model prunes or says why: the model handed back always runs (groups
that break it are rolled back and reported), Torch-Pruning's failures
become skipped groups, output layers are protected by structure, losses
that exist only in train mode are traced there without touching BN
statistics, and a synthetic batch in each task's format traces a model
without its dataset."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.apis.weight_inheritance import build_model_from
from mmprune.core.layer_pruners import LAYER_PRUNERS, RoIExtractorPruner
from mmprune.core.structured import prune_model
from mmprune.core.structured.model_check import run_error
from mmprune.core.structured.output_layers import STRUCTURE_REASON
from mmprune.core.tracing import training_loss_forward
from mmprune.datasets.synthetic_batch import (synthetic_training_batch,
                                              task_of)

from conftest import REPO

CONFIGS = {
    'det': 'configs/rtmdet/rtmdet_tiny_12e_shapes.py',
    'rotated': 'configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py',
    'seg': 'configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py',
}


def _build(path: str):
    cfg = Config.fromfile(path if osp.isabs(path) else osp.join(REPO, path))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    return cfg, build_model_from(cfg)


def _zoo(tmp_path, base: str):
    path = tmp_path / 'zoo.py'
    path.write_text(f'_base_ = {base!r}\n')
    return _build(str(path))


@pytest.mark.parametrize('task', ['det', 'rotated', 'seg'])
def test_synthetic_batch_in_each_task_format_runs_the_model(task):
    cfg, model = _build(CONFIGS[task])
    assert task_of(cfg) == task
    data = synthetic_training_batch(model, task, (96, 128))
    assert tuple(data['inputs'].shape[-2:]) == (96, 128)
    assert run_error(model, data) is None
    model.train()
    loss = training_loss_forward(model, data)
    assert torch.isfinite(loss)


class _ForgetfulRoIExtractorPruner(RoIExtractorPruner):
    """Deliberately broken: forgets to narrow the extractor, whose output
    buffer then has the old FPN width."""

    def prune_out_channels(self, layer, idxs):
        return layer

    prune_in_channels = prune_out_channels


def test_a_group_that_breaks_the_model_is_rolled_back_and_reported():
    cfg, model = _build(CONFIGS['rotated'])
    data = synthetic_training_batch(model, 'rotated', (128, 128))
    fpn = model.neck.fpn_convs[0].conv.out_channels
    original = LAYER_PRUNERS[BaseRoIExtractor]
    LAYER_PRUNERS[BaseRoIExtractor] = _ForgetfulRoIExtractorPruner()
    try:
        result = prune_model(model, data, 'l1', ratio=0.3)
    finally:
        LAYER_PRUNERS[BaseRoIExtractor] = original
    broken = [s for s in result.skipped
              if s['reason'].startswith('pruning its group broke')]
    assert broken, result.skipped
    assert 'loss failed' in broken[0]['reason']
    # the FPN group was rolled back whole, the backbone is still pruned
    assert model.neck.fpn_convs[0].conv.out_channels == fpn
    assert model.roi_head.bbox_roi_extractor.out_channels == fpn
    assert result.params_after < 0.8 * result.params_before
    assert run_error(model, data) is None
    assert not any(h[0] == broken[0]['name'] for h in result.history)


def test_torch_pruning_failures_become_skipped_groups(monkeypatch):
    """An importance that crashes on one group (as Torch-Pruning's did on
    BiSeNetV2) skips that group; the rest is pruned."""
    import torch_pruning as tp
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    target = model.backbone.stage1[0].conv
    original = tp.importance.GroupMagnitudeImportance.__call__

    def flaky(self, group, *args, **kwargs):
        if any(dep.target.module is target for dep, _ in group):
            raise IndexError('list index out of range')
        return original(self, group, *args, **kwargs)

    monkeypatch.setattr(tp.importance.GroupMagnitudeImportance, '__call__',
                        flaky)
    width = target.out_channels
    result = prune_model(model, data, 'l1', ratio=0.3)
    failed = [s for s in result.skipped
              if 'importance estimation: IndexError' in s['reason']]
    assert failed
    assert target.out_channels == width
    assert result.params_after < 0.8 * result.params_before
    assert run_error(model, data) is None


def test_an_unseen_head_name_is_protected_by_structure(tmp_path):
    """CenterNet's heatmap head is in no name list: its class output keeps
    its width because nothing consumes its channels."""
    cfg, model = _zoo(tmp_path, 'mmdet::centernet/'
                      'centernet_r18_8xb16-crop512-140e_coco.py')
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    head = model.bbox_head
    assert head.heatmap_head[-1].out_channels == head.num_classes
    assert head.wh_head[-1].out_channels == 2
    reasons = {s['name']: s['reason'] for s in result.skipped}
    assert reasons['bbox_head.heatmap_head.2'] == STRUCTURE_REASON
    assert head.heatmap_head[0].out_channels < 64  # the rest is pruned
    assert run_error(model, data) is None


def test_train_mode_tracing_leaves_bn_statistics_unchanged():
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    model.eval()
    before = {n: b.clone() for n, b in model.named_buffers()}
    training_loss_forward(model, data)
    assert not model.training
    assert all(torch.equal(b, before[n]) for n, b in model.named_buffers())


def test_a_layer_that_runs_but_feeds_nothing_is_rolled_back(tmp_path):
    """YOLOv3's MobileNetV2 backbone runs a last conv whose output no head
    reads: Torch-Pruning leaves it out of its producer's group, and the
    model check rolls that group back instead of handing back a model
    whose forward fails."""
    cfg, model = _zoo(tmp_path, 'mmdet::yolo/'
                      'yolov3_mobilenetv2_8xb24-320-300e_coco.py')
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    assert any(s['reason'].startswith('pruning its group broke')
               for s in result.skipped)
    conv = model.backbone.conv2.conv
    assert isinstance(conv, nn.Conv2d)
    assert run_error(model, data) is None
    assert result.params_after < result.params_before
