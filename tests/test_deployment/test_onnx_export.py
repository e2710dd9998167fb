"""From pruned checkpoint to deployed model: the structure rebuilt from the
checkpoint, ONNX export checked in ONNX Runtime, predictions with the
exported graphs equal to PyTorch's, latency measured in both runtimes, and
a checkpoint that does not fit its config refused."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.analysis.latency import (measure_onnxruntime_latency,
                                      measure_torch_latency)
from mmprune.analysis.latency_breakdown import REST
from mmprune.core.checkpoint_reader import CheckpointMismatchError
from mmprune.core.structured import prune_model
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.datasets.synthetic_batch import (synthetic_test_batch,
                                              synthetic_training_batch,
                                              task_of)
from mmprune.deployment import (OnnxParityError, OnnxRuntimeModel, export_onnx,
                                load_deployable_model, prediction_tensors)
from mmprune.deployment.onnx_export import compare_outputs
from mmprune.deployment.onnx_graphs import onnx_graphs
from mmprune.models.builder import build_model_from

CONFIGS = {
    'det': 'configs/rtmdet/rtmdet_tiny_12e_shapes.py',
    'rotated': 'configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py',
    'seg': 'configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py',
}
SHAPE = (96, 128)


def _pruned_checkpoint(tmp_path, task: str):
    """A config's model pruned by 30% (l1) and saved as tools/prune.py
    saves it: weights plus the pruning record."""
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[task]))
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    params = sum(p.numel() for p in model.parameters())
    data = synthetic_training_batch(model, task_of(cfg), (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    assert sum(p.numel() for p in model.parameters()) < 0.9 * params
    ckpt = dict(state_dict=model.state_dict())
    PrunedStructure(
        history=result.history, done=[0], method='l1').to_checkpoint(ckpt)
    path = str(tmp_path / f'{task}_pruned.pth')
    torch.save(ckpt, path)
    return cfg, model.eval(), path


@pytest.mark.parametrize('task', ['det', 'rotated', 'seg'])
def test_pruned_model_exports_and_onnxruntime_predicts_like_pytorch(
        tmp_path, task):
    cfg, pruned, path = _pruned_checkpoint(tmp_path, task)
    model = load_deployable_model(cfg, path)
    # the pruned widths, not the config's
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in pruned.state_dict().items()}
    out = str(tmp_path / 'model.onnx')
    manifest = export_onnx(model, out, SHAPE)
    names = [g['name'] for g in manifest['graphs']]
    assert names[0] == 'network'
    if task == 'rotated':  # two-stage: the RoI box head is its own graph
        assert names[1:] == ['roi_head.bbox_head']
    for g in manifest['graphs']:
        assert osp.isfile(osp.join(tmp_path, g['file']))
        assert g['max_abs_diff'] <= 1e-4 + 1e-3 * g['max_abs_output']
    # whole predictions (post-processing in Python) equal PyTorch's
    data = synthetic_test_batch(model, *SHAPE)
    with torch.no_grad():
        want = model(data['inputs'], data['data_samples'], mode='predict')
    got = OnnxRuntimeModel(model, out).predict_preprocessed(data)
    want, got = prediction_tensors(want), prediction_tensors(got)
    assert want and len(want) == len(got)
    assert want[0].numel() > 0  # boxes or a map to compare, not nothing
    for a, b in zip(want, got):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)
    # the module's own forward is back after prediction
    assert 'extract_feat' not in model.__dict__
    # both runtimes time the same graphs
    torch_ms = measure_torch_latency(model, SHAPE, runs=2, warmup=1)
    ort_ms = measure_onnxruntime_latency(out, runs=2, warmup=1, num_rois=16)
    assert torch_ms.median_ms > 0 and ort_ms.median_ms > 0
    assert ort_ms.runtime == 'onnxruntime' and ort_ms.runs == 2


# DETR-family zoo configs made small: ResNet-18, one encoder and two
# decoder layers (the export must not depend on the size)
DETR_FAMILY = {
    'detr': ("_base_ = ['mmdet::detr/detr_r18_8xb2-500e_coco.py']\n"
             'model = dict(backbone=dict(init_cfg=None),\n'
             '    encoder=dict(num_layers=1), decoder=dict(num_layers=2))\n'),
    'deformable-refine-twostage':
    ("_base_ = ['mmdet::deformable_detr/"
     "deformable-detr-refine-twostage_r50_16xb2-50e_coco.py']\n"
     'model = dict(backbone=dict(depth=18, init_cfg=None),\n'
     '    neck=dict(in_channels=[128, 256, 512]), num_queries=30,\n'
     '    encoder=dict(num_layers=1), decoder=dict(num_layers=2))\n'),
}


@pytest.mark.parametrize('family', sorted(DETR_FAMILY))
def test_detr_family_exports_and_predicts_like_pytorch(tmp_path, family):
    """The network graph holds the transformer and the head's branches up
    to what predict_by_feat reads; top-k and box conversion run in Python
    with the head's own code. A dynamic export is refused: the
    transformer's masks and positions follow the image size."""
    path = tmp_path / f'{family}.py'
    path.write_text(DETR_FAMILY[family])
    cfg = Config.fromfile(str(path))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = synthetic_training_batch(model, 'det', (128, 128))
    params = sum(p.numel() for p in model.parameters())
    prune_model(model, data, 'l1', ratio=0.3)
    assert sum(p.numel() for p in model.parameters()) < 0.9 * params
    model.eval()
    out = str(tmp_path / 'model.onnx')
    manifest = export_onnx(model, out, (128, 128))
    network, = manifest['graphs']
    assert network['transformer_outputs']['shapes']
    data = synthetic_test_batch(model, 128, 128)
    with torch.no_grad():
        want = model(data['inputs'], data['data_samples'], mode='predict')
    got = OnnxRuntimeModel(model, out).predict_preprocessed(data)
    want, got = prediction_tensors(want), prediction_tensors(got)
    assert want and want[0].numel() > 0 and len(want) == len(got)
    for a, b in zip(want, got):
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)
    assert 'forward_transformer' not in model.__dict__
    assert 'predict_by_feat' not in model.bbox_head.__dict__
    with pytest.raises(ValueError, match='DETR-family.*without --dynamic'):
        export_onnx(model, out, (128, 128), dynamic=True)


def test_static_graph_refuses_another_input_size(tmp_path):
    cfg, _, path = _pruned_checkpoint(tmp_path, 'det')
    model = load_deployable_model(cfg, path)
    out = str(tmp_path / 'model.onnx')
    export_onnx(model, out, SHAPE)
    data = synthetic_test_batch(model, 64, 64)
    with pytest.raises(ValueError, match='96x128.*--dynamic'):
        OnnxRuntimeModel(model, out).predict_preprocessed(data)
    # a dynamic export takes it
    export_onnx(model, out, SHAPE, dynamic=True)
    assert prediction_tensors(
        OnnxRuntimeModel(model, out).predict_preprocessed(data))


def test_parity_check_fails_with_the_largest_difference():
    cfg = Config.fromfile(osp.join(REPO, CONFIGS['det']))
    init_default_scope(cfg.default_scope)
    model = build_model_from(cfg).eval()
    graph = onnx_graphs(model, (64, 64))[0]
    with torch.no_grad():
        want = graph.module(*graph.example_inputs)
    got = [t.numpy().copy() for t in want]
    got[2][0, 0, 0, 0] += 0.5
    with pytest.raises(
            OnnxParityError, match=r'"network", output "head2".*up to 0\.5'):
        compare_outputs(graph, got, want)


def test_checkpoint_that_does_not_fit_is_refused(tmp_path):
    cfg, pruned, path = _pruned_checkpoint(tmp_path, 'det')
    # the pruned weights without their pruning record: the config's widths
    # do not fit them, and nothing is exported with the old widths
    bare = str(tmp_path / 'bare.pth')
    torch.save(dict(state_dict=pruned.state_dict()), bare)
    with pytest.raises(
            CheckpointMismatchError,
            match='bare.pth.*differ in shape.*pruning record'):
        load_deployable_model(cfg, bare)
    out = tmp_path / 'model.onnx'
    proc = run_tool([
        'tools/deployment/export_onnx.py', CONFIGS['det'], bare, '--out',
        str(out)
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'does not fit' in proc.stderr and not out.exists()


def test_export_tool_writes_graphs_manifest_and_latency(tmp_path):
    _, _, path = _pruned_checkpoint(tmp_path, 'rotated')
    out = str(tmp_path / 'deploy' / 'orcnn.onnx')
    run_tool([
        'tools/deployment/export_onnx.py', CONFIGS['rotated'], path, '--out',
        out, '--input-shape', '128', '128', '--latency-runs', '2'
    ])
    with open(osp.join(tmp_path, 'deploy', 'orcnn.deploy.json')) as f:
        manifest = json.load(f)
    assert manifest['input_shape'] == [128, 128]
    assert [g['file'] for g in manifest['graphs']
            ] == ['orcnn.onnx', 'orcnn.roi_head.bbox_head.onnx']
    lat = manifest['latency']
    assert lat['torch']['runs'] == 2 and lat['onnxruntime']['median_ms'] > 0
    assert lat['rois_per_image'] == 500  # the config's test rpn max_per_img
    assert np.isfinite(lat['torch']['median_ms'])


def test_latency_breakdown_sets_each_part_beside_its_flops(tmp_path):
    cfg, _, pruned = _pruned_checkpoint(tmp_path, 'det')
    torch.manual_seed(0)
    unpruned = str(tmp_path / 'unpruned.pth')
    torch.save(dict(state_dict=build_model_from(cfg).state_dict()), unpruned)
    out = str(tmp_path / 'breakdown.json')
    proc = run_tool([
        'tools/analysis_tools/latency_breakdown.py', CONFIGS['det'], unpruned,
        pruned, '--input-shape', '96', '128', '--runs', '2', '--json', out
    ])
    assert '| backbone.stage4 |' in proc.stdout
    assert 'FLOPs reduction' in proc.stdout
    with open(out) as f:
        result = json.load(f)
    parts = [
        'backbone.stem', 'backbone.stage1', 'backbone.stage2',
        'backbone.stage3', 'backbone.stage4', 'neck', 'bbox_head'
    ]
    for key in ('before', 'after'):
        t = result[key]['torch']
        assert set(parts) <= set(t) and REST in t
        # the parts and the rest make up the whole predict
        assert sum(t[p] for p in parts) + t[REST] == \
            pytest.approx(t['total'], rel=0.05, abs=0.05)
        o = result[key]['onnxruntime']
        assert all(o.get(p, 0) > 0 for p in parts)
        # the exporter's node names place almost every node in a part
        assert o.get(REST, 0) < 0.2 * o['total']
    flops = result['before']['flops'], result['after']['flops']
    assert flops[1]['neck'] < flops[0]['neck']
