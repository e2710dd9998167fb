"""One self-contained ONNX graph from the image to the final predictions:
pruned detectors (one-stage, YOLOX, two-stage) and a segmentor exported
end to end and checked against the model's own predict, refusals of what
standard ONNX operators cannot express, INT8 quantization of a tiny model,
and the deployed model's accuracy with the config's evaluator."""
import json
import os.path as osp

import numpy as np
import onnx
import pytest
import torch
from conftest import (REPO, RTMDET, SEGFORMER, TINY_LOADERS, YOLOX,
                      pruned_tiny_rtmdet, run_tool)
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.core.structured import prune_model
from mmprune.datasets.synthetic_batch import synthetic_training_batch, task_of
from mmprune.deployment.deploy_data import padded_image, with_input_shape
from mmprune.deployment.end2end import UnsupportedEnd2EndError, end2end_graph
from mmprune.deployment.end2end.export import export_end2end
from mmprune.deployment.end2end.parity import match_detections
from mmprune.deployment.end2end.predictor import End2EndOnnxModel
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config

SHAPE = (128, 160)
# a zoo Faster R-CNN made small (ResNet-18); the export must not depend on
# the size
FASTER_RCNN = ("_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']"
               '\nmodel = dict(backbone=dict(depth=18, init_cfg=None),\n'
               '    neck=dict(in_channels=[64, 128, 256, 512]),\n'
               '    test_cfg=dict(rcnn=dict(score_thr=0.001)))\n')


def _config(tmp_path, name: str) -> Config:
    if name == 'faster_rcnn':
        path = tmp_path / 'faster_rcnn.py'
        path.write_text(FASTER_RCNN)
        return read_config(str(path))
    return read_config(dict(rtmdet=RTMDET, yolox=YOLOX)[name])


def _pruned(cfg: Config) -> torch.nn.Module:
    """The config's model, 30% of its channels pruned (l1), in eval mode."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    model = build_model_from(cfg)
    if 'YOLOX' in type(model).__name__:
        # untrained YOLOX scores every box alike (~1e-4): spread the
        # scores, so that PyTorch's and ONNX Runtime's rankings are defined
        model.init_weights()
        head = model.bbox_head
        for conv in list(head.multi_level_conv_cls) + list(
                head.multi_level_conv_obj):
            torch.nn.init.normal_(conv.weight, std=0.5)
            torch.nn.init.zeros_(conv.bias)
    params = sum(p.numel() for p in model.parameters())
    data = synthetic_training_batch(model, task_of(cfg), (128, 128))
    prune_model(model, data, 'l1', ratio=0.3)
    assert sum(p.numel() for p in model.parameters()) < 0.9 * params
    return model.eval()


def _images(n: int):
    torch.manual_seed(1)
    return [torch.rand(1, 3, *SHAPE) * 255 for _ in range(n)]


@pytest.mark.parametrize('name', ['rtmdet', 'yolox', 'faster_rcnn'])
def test_pruned_detector_exports_end_to_end_like_its_predict(tmp_path, name):
    model = _pruned(_config(tmp_path, name))
    graph = end2end_graph(model, SHAPE)
    images = _images(2)
    path = str(tmp_path / f'{name}.onnx')
    manifest = export_end2end(model, path, SHAPE, images, graph)
    # standard operators only: no mmcv custom domain
    nodes = onnx.load(path).graph.node
    ops = {n.op_type for n in nodes}
    assert 'NonMaxSuppression' in ops and all(
        n.domain in ('', 'ai.onnx') for n in nodes)
    if name == 'faster_rcnn':
        assert 'RoiAlign' in ops
    check = manifest['check']
    assert check['images'] == 2 and check['reference'] > 0
    assert check['agreement'] >= 0.99
    # the padded, fixed-size outputs
    out = End2EndOnnxModel(path).run(images[0])
    max_det = manifest['max_det']
    assert out[0].shape == (1, max_det, 5) and out[1].shape == (1, max_det)
    assert out[1].dtype == np.int64
    pad = out[0][0, :, 4] == 0
    assert (out[1][0][pad] == -1).all()
    scores = out[0][0, ~pad, 4]
    assert (np.diff(scores) <= 0).all()  # decreasing score
    # the module's own prediction in PyTorch, image by image, exactly
    with torch.no_grad():
        dets, labels = graph.module(images[1])
    got = End2EndOnnxModel(path).run(images[1])
    keep = dets[0, :, 4] > 0
    agreement = match_detections(dets[0, keep, :4].numpy(), dets[0, keep,
                                                                 4].numpy(),
                                 labels[0, keep].numpy(), got[0][0, :, :4],
                                 got[0][0, :, 4], got[1][0])
    assert agreement.reference > 0
    assert agreement.matched >= 0.99 * agreement.reference


def test_segmentor_exports_its_label_map(tmp_path):
    cfg = read_config(SEGFORMER)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = synthetic_training_batch(model, 'seg', (128, 128))
    prune_model(model, data, 'l1', ratio=0.3)
    model.eval()
    path = str(tmp_path / 'seg.onnx')
    manifest = export_end2end(model, path, SHAPE, _images(1))
    assert manifest['task'] == 'segmentation'
    assert manifest['check']['agreement'] >= 0.99
    seg = End2EndOnnxModel(path).run(_images(1)[0])[0]
    assert seg.shape == (1, *SHAPE) and seg.dtype == np.int64
    classes = model.decode_head.out_channels
    assert seg.min() >= 0 and seg.max() < classes


def test_disagreeing_graph_is_refused(tmp_path, monkeypatch):
    model = _pruned(_config(tmp_path, 'rtmdet'))
    graph = end2end_graph(model, SHAPE)
    # a graph whose boxes are one pixel off: what a wrong decoding exports
    forward = graph.module.forward

    def shifted(image):
        dets, labels = forward(image)
        return dets + torch.tensor([1.0, 0, 0, 0, 0]), labels

    monkeypatch.setattr(graph.module, 'forward', shifted)
    from mmprune.deployment import OnnxParityError
    with pytest.raises(OnnxParityError, match='0 of PyTorch'):
        export_end2end(model, str(tmp_path / 'm.onnx'), SHAPE, _images(1),
                       graph)


REFUSED = {
    'rotated boxes': ('configs/oriented_rcnn/'
                      'oriented-rcnn-le90_r18_fpn_4e_shapes.py', 'rotated'),
    'mask head':
    ('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', 'mask head'),
    'own post-processing':
    ('mmdet::gfl/gfl_r50_fpn_1x_coco.py', 'own post-processing'),
    'DETR': ('mmdet::detr/detr_r50_8xb2-150e_coco.py', 'DETR-family'),
}


@pytest.mark.parametrize('case', sorted(REFUSED))
def test_what_standard_onnx_cannot_express_is_refused_by_name(case):
    config, words = REFUSED[case]
    cfg = read_config(config if '::' in config else osp.join(REPO, config))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = build_model_from(cfg).eval()
    with pytest.raises(UnsupportedEnd2EndError, match=words) as e:
        end2end_graph(model, (128, 128))
    assert 'without --end2end' in str(e.value)  # the fallback is named


def test_input_size_knob_resizes_the_test_pipeline():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 256), keep_ratio=True),
        dict(type='Pad', size=(256, 256)),
    ]
    out = with_input_shape(pipeline, (160, 192))
    assert out[1]['scale'] == (192, 160) and out[1]['keep_ratio']
    assert out[2]['size'] == (192, 160)
    assert pipeline[1]['scale'] == (256, 256)  # the config is untouched
    image = torch.full((3, 100, 150), 7, dtype=torch.uint8)
    padded = padded_image(image, (160, 192), [1.0, 2.0, 3.0])
    assert padded.shape == (1, 3, 160, 192)
    assert padded[0, :, :100, :150].eq(7).all()
    assert padded[0, 2, 150, 180] == 3.0
    with pytest.raises(ValueError, match='larger than'):
        padded_image(image, (96, 192), [0, 0, 0])


def test_export_quantize_and_test_tools_end_to_end(tmp_path):
    cfg_path, pth, _, _ = pruned_tiny_rtmdet(tmp_path)
    onnx_path = str(tmp_path / 'deploy' / 'rtm.onnx')
    # export: checked on the config's own test images
    run_tool([
        'tools/deployment/export_onnx.py',
        str(cfg_path), pth, '--out', onnx_path, '--end2end', '--input-shape',
        '128', '128', '--latency-runs', '2'
    ])
    manifest = json.load(open(onnx_path.replace('.onnx', '.deploy.json')))
    assert manifest['end2end'] and manifest['check']['source'] == \
        'test images'
    assert manifest['latency']['onnxruntime']['median_ms'] > 0
    # INT8: calibrated on the train images, final layers kept in float
    run_tool([
        'tools/deployment/quantize_onnx.py',
        str(cfg_path), onnx_path, '--calib-images', '3'
    ])
    int8 = onnx_path.replace('.onnx', '.int8.onnx')
    report = json.load(open(int8.replace('.onnx', '.quantization.json')))
    assert report['calibration']['images'] == 3  # the 4-image train set
    assert 0 < report['quantized_weighted_nodes'] < report['weighted_nodes']
    assert any('rtm_cls' in n
               for n in report['kept_float_nodes']['final_layers'])
    graph = onnx.load(int8).graph
    quantized = {
        n.input[0]
        for n in graph.node if n.op_type == 'DequantizeLinear'
    }
    assert quantized
    # NMS and box decoding stay in float
    for n in graph.node:
        if n.op_type == 'NonMaxSuppression':
            assert not any(i in quantized for i in n.input)
    assert report['size_mb']['int8'] < 0.5 * report['size_mb']['float']
    # a quantized model is not quantized again
    proc = run_tool(['tools/deployment/quantize_onnx.py',
                     str(cfg_path), int8],
                    check=False)
    assert proc.returncode != 0 and 'already quantized' in proc.stderr
    # the test set, three ways, with the config's evaluator
    out = str(tmp_path / 'results.json')
    run_tool([
        'tools/deployment/test_onnx.py',
        str(cfg_path), onnx_path, int8, '--checkpoint', pth, '--out', out
    ])
    rows = json.load(open(out))['rows']
    assert [r['runtime'] for r in rows
            ] == ['pytorch', 'onnxruntime-fp32', 'onnxruntime-int8']
    key = json.load(open(out))['metric']
    assert key == 'coco/bbox_mAP'
    # ONNX Runtime FP32 reproduces PyTorch's detections, hence its score
    assert abs(rows[0]['metrics'][key] - rows[1]['metrics'][key]) < 1e-3
    assert all(0 <= r['metrics'][key] <= 1 for r in rows)


def test_export_tool_refuses_end2end_with_dynamic_shapes(tmp_path):
    proc = run_tool([
        'tools/deployment/export_onnx.py', RTMDET, 'missing.pth', '--out',
        str(tmp_path / 'm.onnx'), '--end2end', '--dynamic'
    ],
                    check=False)
    assert proc.returncode != 0 and '--dynamic' in proc.stderr
    assert not (tmp_path / 'm.onnx').exists()


def test_a_model_that_detects_nothing_scores_zero(tmp_path):
    """mmdet's COCO metric returns no scores when no image has a detection
    (an untrained model); the deployed model's table shows 0, not a
    crash."""
    from mmengine.structures import InstanceData

    from mmprune.deployment.evaluation import evaluate, main_metric
    cfg_path = tmp_path / 'rtmdet_tiny.py'
    cfg_path.write_text(f'_base_ = {RTMDET!r}\n' + TINY_LOADERS)
    cfg = read_config(str(cfg_path))

    def predict_nothing(data):
        samples = data['data_samples']
        for sample in samples:
            sample.pred_instances = InstanceData(
                bboxes=torch.zeros(0, 4),
                scores=torch.zeros(0),
                labels=torch.zeros(0, dtype=torch.long))
        return samples

    metrics = evaluate(cfg, predict_nothing, show_progress=False)
    assert main_metric(metrics) == ('coco/bbox_mAP', 0.0)
    with pytest.raises(ValueError, match='no metric'):
        main_metric({})
