"""The end-to-end graph of a two-stage detector (Faster R-CNN and its
relatives): RPN proposals, RoI Align per FPN level with ONNX's
``RoiAlign``, the box head, per-class box decoding and class-aware NMS,
with the model's own test config (``test_cfg.rpn`` and ``test_cfg.rcnn``).

Padded proposals (an image with fewer than ``max_per_img``) go through the
box head like the others and their scores are zeroed, so every image has a
fixed number of RoIs.
"""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .dense_detector import RPNProposals, check_dense_head
from .detections import (UnsupportedEnd2EndError, decode_boxes, nms_settings,
                         select_detections)
from .onnx_ops import roi_align


def _own(obj, method: str, base: type) -> bool:
    return getattr(type(obj), method) is not getattr(base, method)


def check_roi_head(roi_head: nn.Module) -> None:
    """Refuses, by name, a RoI head whose test-time path the graph does not
    follow: masks, cascades, other RoI extractors and box heads with their
    own post-processing."""
    from mmcv.ops import RoIAlign
    from mmdet.models.roi_heads import (BBoxHead, SingleRoIExtractor,
                                        StandardRoIHead)
    name = type(roi_head).__name__
    fallback = ('; export without --end2end (the network and RoI head '
                'graphs, with the post-processing in Python)')
    if not isinstance(roi_head, StandardRoIHead) or any(
            _own(roi_head, m, StandardRoIHead)
            for m in ('predict', 'predict_bbox', '_bbox_forward')):
        raise UnsupportedEnd2EndError(
            f'the RoI head {name} is not a StandardRoIHead (cascades and '
            f'other RoI heads have their own test-time path){fallback}')
    if roi_head.with_mask:
        raise UnsupportedEnd2EndError(
            f'{name} has a mask head: instance masks are pasted into the '
            f'image per detection, outside what the graph covers{fallback}')
    extractor, head = roi_head.bbox_roi_extractor, roi_head.bbox_head
    if type(extractor) is not SingleRoIExtractor:
        raise UnsupportedEnd2EndError(
            f'RoI extractor {type(extractor).__name__}: only '
            f'SingleRoIExtractor is exported end to end{fallback}')
    for layer in extractor.roi_layers:
        if not isinstance(layer, RoIAlign) or not layer.aligned or \
                layer.pool_mode != 'avg':
            raise UnsupportedEnd2EndError(
                f'RoI layer {layer!r}: ONNX RoiAlign matches mmcv RoIAlign '
                f'with aligned=True and pool_mode="avg" only{fallback}')
    if not isinstance(head, BBoxHead) or any(
            _own(head, m, BBoxHead)
            for m in ('predict_by_feat', '_predict_by_feat_single')):
        raise UnsupportedEnd2EndError(
            f'box head {type(head).__name__} has its own post-processing'
            f'{fallback}')
    if head.custom_cls_channels:
        raise UnsupportedEnd2EndError(
            f'box head {type(head).__name__}: its loss has custom score '
            f'channels{fallback}')


class RoIFeatures(nn.Module):
    """``SingleRoIExtractor``: each RoI pooled from the FPN level its size
    maps to. Every level pools every RoI and the right one is kept, as
    mmdeploy does, since a graph cannot route RoIs to levels."""

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, feats, rois: Tensor, batch_idx: Tensor) -> Tensor:
        ext = self.extractor
        levels = ext.num_inputs
        scale = torch.sqrt(
            (rois[:, 2] - rois[:, 0]) * (rois[:, 3] - rois[:, 1]))
        target = torch.floor(torch.log2(scale / ext.finest_scale + 1e-6))
        target = target.clamp(min=0, max=levels - 1)
        out = None
        for i in range(levels):
            layer = ext.roi_layers[i]
            pooled = roi_align(feats[i], rois, batch_idx, layer.output_size,
                               layer.spatial_scale, layer.sampling_ratio)
            pooled = pooled * (target == i).to(pooled.dtype)[:, None, None,
                                                             None]
            out = pooled if out is None else out + pooled
        return out


class TwoStageDetectorGraph(nn.Module):
    """image (0-255, resized and padded) -> ``dets (B, max_det, 5)``,
    ``labels (B, max_det)`` for a two-stage detector."""

    def __init__(self, model: nn.Module, normalize: nn.Module,
                 input_shape: Tuple[int, int]) -> None:
        super().__init__()
        check_roi_head(model.roi_head)
        if check_dense_head(model.rpn_head) != 'rpn':
            raise UnsupportedEnd2EndError(
                f'region proposals from {type(model.rpn_head).__name__}: '
                'only RPNHead is exported end to end; export without '
                '--end2end')
        self.model = model
        self.normalize = normalize
        self.input_shape = tuple(input_shape)
        self.proposals = RPNProposals(model.rpn_head, model.rpn_head.test_cfg,
                                      input_shape)
        roi_head = model.roi_head
        self.roi_features = RoIFeatures(roi_head.bbox_roi_extractor)
        self.cfg = roi_head.test_cfg
        self.iou, self.class_agnostic = nms_settings(self.cfg,
                                                     'model.test_cfg.rcnn')
        self.max_det = int(self.cfg.get('max_per_img', 100))

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        model, roi_head = self.model, self.model.roi_head
        feats = model.extract_feat(self.normalize(image))
        proposals = self.proposals(*model.rpn_head(feats))
        batch, num = proposals.shape[:2]
        rois = proposals[..., :4].reshape(-1, 4)
        batch_idx = torch.arange(
            batch, device=rois.device).repeat_interleave(num)
        roi_feats = self.roi_features(feats, rois, batch_idx)
        if roi_head.with_shared_head:
            roi_feats = roi_head.shared_head(roi_feats)
        cls_score, bbox_pred = roi_head.bbox_head(roi_feats)
        head = roi_head.bbox_head
        classes = head.num_classes
        scores = cls_score.softmax(-1)[:, :classes].reshape(
            batch, num, classes)
        reg_classes = 1 if head.reg_class_agnostic else classes
        boxes = decode_boxes(
            head.bbox_coder, rois.repeat_interleave(reg_classes, dim=0),
            bbox_pred.reshape(-1, head.bbox_coder.encode_size),
            self.input_shape).reshape(batch, num, reg_classes, 4)
        boxes = boxes.expand(batch, num, classes, 4).reshape(batch, -1, 4)
        # padded proposals (score 0) and pairs at or below score_thr drop
        valid = (proposals[..., 4:] > 0) & (scores > self.cfg.score_thr)
        scores = torch.where(valid, scores,
                             torch.zeros_like(scores)).reshape(batch, -1)
        labels = torch.arange(classes, device=scores.device).repeat(batch, num)
        return select_detections(boxes, scores, labels, self.iou, self.max_det,
                                 self.class_agnostic)
