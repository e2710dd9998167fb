"""End-to-end graphs of one-stage detectors, and the region proposals of a
two-stage detector's RPN, with the model's own test config.

A dense head that keeps mmdet's shared post-processing
(``BaseDenseHead.predict_by_feat``: RTMDet, RetinaNet, FCOS, ATSS,
FSAF and others) is followed step by step: per level the top
``nms_pre`` (prior, class) pairs above ``score_thr``, the head's own box
coder, the score factor (centerness), ``min_bbox_size``, class-aware NMS
and ``max_per_img``. YOLOX's own ``predict_by_feat`` (objectness times the
best class, no ``nms_pre``) has its own graph. Heads with other
post-processing are refused by name.
"""
from typing import List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .detections import (UnsupportedEnd2EndError, decode_boxes, gather_rows,
                         nms_settings, select_detections)


def _own(head: nn.Module, method: str, base: type) -> bool:
    return getattr(type(head), method) is not getattr(base, method)


def check_dense_head(head: nn.Module) -> str:
    """``'generic'``, ``'yolox'`` or ``'rpn'``: which graph follows the
    head's post-processing; raises :class:`UnsupportedEnd2EndError` when
    none does."""
    from mmdet.models.dense_heads import RPNHead, YOLOXHead
    from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
    name = type(head).__name__
    if type(head) is RPNHead:
        return 'rpn'
    if isinstance(head,
                  YOLOXHead) and not _own(head, 'predict_by_feat', YOLOXHead):
        return 'yolox'
    own = [
        m for m in ('predict_by_feat', '_predict_by_feat_single',
                    '_bbox_post_process') if _own(head, m, BaseDenseHead)
    ]
    if own:
        raise UnsupportedEnd2EndError(
            f'{name} has its own post-processing ({", ".join(own)}), '
            'which the end-to-end graph does not reproduce; export without '
            '--end2end (the network graph, with the post-processing in '
            'Python)')
    if getattr(head.loss_cls, 'custom_cls_channels', False):
        raise UnsupportedEnd2EndError(
            f'{name}: its classification loss {type(head.loss_cls).__name__}'
            ' has custom score channels; export without --end2end')
    return 'generic'


def _levels(outs: List[Tensor], batch: int, dim: int) -> Tensor:
    return [o.permute(0, 2, 3, 1).reshape(batch, -1, dim) for o in outs]


def _priors(head: nn.Module, cls_scores, **kwargs):
    """The head's priors per level (``with_stride`` for point generators
    that take it; anchor generators do not)."""
    return head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                            dtype=cls_scores[0].dtype,
                                            device=cls_scores[0].device,
                                            **kwargs)


def _drop_small(boxes: Tensor, scores: Tensor, cfg) -> Tensor:
    """Scores of boxes not wider and taller than ``min_bbox_size`` set to
    0, as mmdet drops them (nothing is dropped when it is negative)."""
    min_size = cfg.get('min_bbox_size', -1)
    if min_size < 0:
        return scores
    wide = (boxes[..., 2] - boxes[..., 0] > min_size) & (
        boxes[..., 3] - boxes[..., 1] > min_size)
    return torch.where(wide, scores, torch.zeros_like(scores))


class DenseDetections(nn.Module):
    """A ``BaseDenseHead``'s outputs -> ``(boxes, scores, labels)``
    candidates before NMS, exactly as ``_predict_by_feat_single`` selects
    them, batched."""

    def __init__(self, head: nn.Module, cfg, input_shape: Tuple[int,
                                                                int]) -> None:
        super().__init__()
        self.head = head
        self.cfg = cfg
        self.input_shape = tuple(input_shape)

    def forward(self, cls_scores, bbox_preds, score_factors=None):
        head, cfg = self.head, self.cfg
        batch, classes = cls_scores[0].shape[0], head.cls_out_channels
        priors = _priors(head, cls_scores)
        nms_pre, thr = cfg.get('nms_pre', -1), cfg.get('score_thr', 0)
        enc = head.bbox_coder.encode_size
        factors = score_factors if score_factors is not None else \
            [None] * len(cls_scores)
        boxes, scores, labels = [], [], []
        for cls, reg, factor, prior in zip(cls_scores, bbox_preds, factors,
                                           priors):
            cls = _levels([cls], batch, classes)[0]
            if head.use_sigmoid_cls:
                cls = cls.sigmoid()
            else:
                cls = cls.softmax(-1)[..., :-1]
            flat = cls.reshape(batch, -1)
            k = flat.shape[1] if nms_pre <= 0 else min(nms_pre, flat.shape[1])
            top, idx = flat.topk(k, dim=1)
            prior_idx = torch.div(idx, cls.shape[-1], rounding_mode='floor')
            label = idx - prior_idx * cls.shape[-1]
            reg = gather_rows(_levels([reg], batch, enc)[0], prior_idx)
            prior = gather_rows(prior, prior_idx)
            box = decode_boxes(head.bbox_coder,
                               prior.reshape(-1, prior.shape[-1]),
                               reg.reshape(-1, enc),
                               self.input_shape).reshape(batch, k, -1)
            score = torch.where(top > thr, top, torch.zeros_like(top))
            if factor is not None:
                factor = _levels([factor], batch, 1)[0].sigmoid()
                score = score * gather_rows(factor, prior_idx)[..., 0]
            boxes.append(box)
            scores.append(score)
            labels.append(label)
        boxes = torch.cat(boxes, 1)
        scores = _drop_small(boxes, torch.cat(scores, 1), cfg)
        return boxes, scores, torch.cat(labels, 1)


class YOLOXDetections(nn.Module):
    """``YOLOXHead.predict_by_feat``'s candidates, batched: every prior with
    its best class, scored by that class times the objectness."""

    def __init__(self, head: nn.Module, cfg) -> None:
        super().__init__()
        self.head = head
        self.cfg = cfg

    def forward(self, cls_scores, bbox_preds, objectnesses):
        head, batch = self.head, cls_scores[0].shape[0]
        priors = _priors(head, cls_scores, with_stride=True)
        cls = torch.cat(_levels(cls_scores, batch, head.cls_out_channels),
                        1).sigmoid()
        reg = torch.cat(_levels(bbox_preds, batch, 4), 1)
        obj = torch.cat(_levels(objectnesses, batch, 1), 1)[..., 0].sigmoid()
        boxes = head._bbox_decode(torch.cat(priors), reg)
        best, labels = cls.max(-1)
        scores = best * obj
        scores = torch.where(scores >= self.cfg.score_thr, scores,
                             torch.zeros_like(scores))
        return boxes, scores, labels


class RPNProposals(DenseDetections):
    """``RPNHead._predict_by_feat_single``, batched: per level the top
    ``nms_pre`` priors, decoded, ``min_bbox_size``, NMS per level, the top
    ``max_per_img``. Returns ``proposals (B, P, 5)`` with the score last
    (0 for padding)."""

    def __init__(self, head: nn.Module, cfg, input_shape: Tuple[int,
                                                                int]) -> None:
        super().__init__(head, cfg, input_shape)
        self.iou, _ = nms_settings(cfg, 'model.test_cfg.rpn')

    def forward(self, cls_scores, bbox_preds) -> Tensor:
        head, cfg = self.head, self.cfg
        batch = cls_scores[0].shape[0]
        priors = _priors(head, cls_scores)
        nms_pre = cfg.get('nms_pre', -1)
        enc = head.bbox_coder.encode_size
        boxes, scores, levels = [], [], []
        for level, (cls, reg,
                    prior) in enumerate(zip(cls_scores, bbox_preds, priors)):
            cls = _levels([cls], batch, head.cls_out_channels)[0]
            cls = cls.sigmoid()[..., 0] if head.use_sigmoid_cls else \
                cls.softmax(-1)[..., 0]
            k = cls.shape[1] if nms_pre <= 0 else min(nms_pre, cls.shape[1])
            top, idx = cls.topk(k, dim=1)
            reg = gather_rows(_levels([reg], batch, enc)[0], idx)
            box = decode_boxes(head.bbox_coder,
                               gather_rows(prior, idx).reshape(-1, 4),
                               reg.reshape(-1, enc),
                               self.input_shape).reshape(batch, k, 4)
            boxes.append(box)
            scores.append(top)
            levels.append(torch.full_like(idx, level))
        boxes = torch.cat(boxes, 1)
        scores = _drop_small(boxes, torch.cat(scores, 1), cfg)
        dets, _ = select_detections(boxes, scores, torch.cat(levels, 1),
                                    self.iou, cfg.max_per_img)
        return dets


class OneStageDetectorGraph(nn.Module):
    """image (0-255, resized and padded) -> ``dets (B, max_det, 5)``,
    ``labels (B, max_det)`` for a one-stage detector."""

    def __init__(self, model: nn.Module, normalize: nn.Module,
                 input_shape: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.normalize = normalize
        head = model.bbox_head
        cfg = head.test_cfg
        self.kind = check_dense_head(head)
        if self.kind == 'rpn':
            raise UnsupportedEnd2EndError(
                'an RPN alone proposes regions; the end-to-end export '
                'covers detectors')
        self.iou, self.class_agnostic = nms_settings(cfg, 'model.test_cfg')
        self.max_det = int(cfg.get('max_per_img', 100))
        self.candidates = YOLOXDetections(head, cfg) if \
            self.kind == 'yolox' else DenseDetections(head, cfg, input_shape)

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        feats = self.model.extract_feat(self.normalize(image))
        boxes, scores, labels = self.candidates(*self.model.bbox_head(feats))
        return select_detections(boxes, scores, labels, self.iou, self.max_det,
                                 self.class_agnostic)
