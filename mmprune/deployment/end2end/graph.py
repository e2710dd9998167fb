"""Which end-to-end graph a model gets, or why it gets none."""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch.nn as nn

from .detections import Normalize, UnsupportedEnd2EndError


@dataclass
class End2EndGraph:
    """``module`` maps the image batch to ``output_names``; ``task`` is
    ``'detection'`` or ``'segmentation'``; ``preprocess`` tells a deployer
    what the input is."""
    module: nn.Module
    task: str
    output_names: List[str]
    preprocess: Dict = field(default_factory=dict)


def _refuse_rotated(model: nn.Module) -> None:
    heads = [
        getattr(model, n) for n in ('rpn_head', 'bbox_head', 'roi_head')
        if isinstance(getattr(model, n, None), nn.Module)
    ]
    if any(
            type(m).__module__.startswith('mmrotate') for h in heads
            for m in h.modules()):
        raise UnsupportedEnd2EndError(
            f'{type(model).__name__} predicts rotated boxes: rotated NMS '
            'and rotated RoI Align have no standard ONNX operator; export '
            'without --end2end (the network graph, with the post-processing '
            'in Python)')


def end2end_graph(model: nn.Module, input_shape: Tuple[int,
                                                       int]) -> End2EndGraph:
    """The end-to-end graph of ``model`` (in eval mode) for a fixed
    ``input_shape`` (H, W); raises :class:`UnsupportedEnd2EndError` naming
    the part that standard ONNX operators cannot express."""
    _refuse_rotated(model)
    normalize = Normalize(model.data_preprocessor)
    pad_value = float(getattr(model.data_preprocessor, 'pad_value', 0))
    preprocess = dict(
        input='the image as loaded (0-255, the loader\'s channel order), '
        'resized as the test pipeline resizes it and padded at the bottom '
        'and right to the graph\'s size with pad_pixel',
        input_shape=list(input_shape),
        pad_pixel=normalize.pad_pixel(pad_value))
    name = type(model).__name__
    if hasattr(model, 'decode_head') and hasattr(model, 'encode_decode'):
        from .segmentor import SegmentorGraph
        return End2EndGraph(
            SegmentorGraph(model, normalize, input_shape).eval(),
            'segmentation', ['seg'], preprocess)
    from mmdet.models.detectors import (DetectionTransformer,
                                        SingleStageDetector, TwoStageDetector)
    if isinstance(model, DetectionTransformer):
        raise UnsupportedEnd2EndError(
            f'{name} is a DETR-family detector: its end-to-end export is '
            'not written yet; export without --end2end (the network graph, '
            'with top-k and box conversion in Python)')
    if isinstance(model, TwoStageDetector) and type(
            model.rpn_head).__name__ != 'NoneType':
        from .two_stage_detector import TwoStageDetectorGraph
        module = TwoStageDetectorGraph(model, normalize, input_shape)
    elif isinstance(model, SingleStageDetector):
        from .dense_detector import OneStageDetectorGraph
        module = OneStageDetectorGraph(model, normalize, input_shape)
    else:
        raise UnsupportedEnd2EndError(
            f'{name}: the end-to-end export covers one-stage and two-stage '
            'detectors and encoder-decoder segmentors; export without '
            '--end2end')
    # a wrapper left in train mode would be exported with the model's
    # BatchNorm in training mode (torch.onnx.export sets every submodule's
    # flag from the module it is given)
    return End2EndGraph(module.eval(), 'detection', ['dets', 'labels'],
                        preprocess)
