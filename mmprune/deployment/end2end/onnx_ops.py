"""Standard ONNX operators for the data-dependent steps of post-processing:
``NonMaxSuppression`` (opset 10) and ``RoiAlign`` (opset 16, whose
``coordinate_transformation_mode='half_pixel'`` is mmcv's ``aligned=True``).

Each is a ``torch.autograd.Function`` whose ``symbolic`` writes the ONNX
node (the TorchScript exporter's extension point, as mmdeploy's ONNX
Runtime route does) and whose ``forward`` computes the same result with
mmcv's operators, so that the exported module runs in PyTorch too and the
two can be compared. Neither needs mmcv's custom ONNX Runtime operators.
"""
from typing import Tuple

import torch
from torch import Tensor


def _const(g, value, dtype):
    return g.op('Constant', value_t=torch.tensor(value, dtype=dtype))


class NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression``: ``boxes (B, M, 4)`` as x1, y1, x2, y2,
    ``scores (B, C, M)``; returns the ``(K, 3)`` int64 rows
    ``[batch, class, box]`` selected per batch and class, each class's in
    decreasing score, at most ``max_per_class`` each. Boxes scoring at or
    below ``score_threshold`` are dropped, and a box is suppressed when its
    IoU with a kept one exceeds ``iou_threshold`` (mmcv's ``nms``)."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_per_class: int,
                iou_threshold: float, score_threshold: float) -> Tensor:
        from mmcv.ops import nms
        rows = []
        for b in range(scores.shape[0]):
            for c in range(scores.shape[1]):
                _, keep = nms(
                    boxes[b],
                    scores[b, c],
                    iou_threshold,
                    score_threshold=score_threshold,
                    max_num=max_per_class)
                idx = torch.full_like(keep, b)
                rows.append(
                    torch.stack([idx, torch.full_like(keep, c), keep], 1))
        return torch.cat(rows).long() if rows else boxes.new_zeros(
            (0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou_threshold,
                 score_threshold):
        return g.op('NonMaxSuppression', boxes, scores,
                    _const(g, [max_per_class], torch.long),
                    _const(g, [iou_threshold], torch.float),
                    _const(g, [score_threshold], torch.float))


def non_max_suppression(boxes: Tensor, scores: Tensor, max_per_class: int,
                        iou_threshold: float,
                        score_threshold: float) -> Tensor:
    return NonMaxSuppression.apply(boxes, scores, int(max_per_class),
                                   float(iou_threshold),
                                   float(score_threshold))


class RoiAlign(torch.autograd.Function):
    """ONNX ``RoiAlign`` with ``half_pixel`` coordinates, average pooling:
    ``feats (B, C, H, W)``, ``rois (K, 4)`` as x1, y1, x2, y2 in image
    pixels, ``batch_indices (K,)`` int64; returns ``(K, C, out_h, out_w)``.
    The same as mmcv's ``RoIAlign(aligned=True, pool_mode='avg')``."""

    @staticmethod
    def forward(ctx, feats: Tensor, rois: Tensor, batch_indices: Tensor,
                output_size: Tuple[int, int], spatial_scale: float,
                sampling_ratio: int) -> Tensor:
        from mmcv.ops import roi_align
        rois5 = torch.cat([batch_indices[:, None].to(rois.dtype), rois], 1)
        return roi_align(feats, rois5, output_size, spatial_scale,
                         sampling_ratio, 'avg', True)

    @staticmethod
    def symbolic(g, feats, rois, batch_indices, output_size, spatial_scale,
                 sampling_ratio):
        return g.op(
            'RoiAlign',
            feats,
            rois,
            batch_indices,
            output_height_i=output_size[0],
            output_width_i=output_size[1],
            sampling_ratio_i=sampling_ratio,
            spatial_scale_f=spatial_scale,
            mode_s='avg',
            coordinate_transformation_mode_s='half_pixel')


def roi_align(feats: Tensor, rois: Tensor, batch_indices: Tensor,
              output_size: Tuple[int, int], spatial_scale: float,
              sampling_ratio: int) -> Tensor:
    return RoiAlign.apply(feats, rois, batch_indices,
                          (int(output_size[0]), int(output_size[1])),
                          float(spatial_scale), int(sampling_ratio))
