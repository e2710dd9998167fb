"""The last step of every end-to-end detector graph: class-aware NMS and a
fixed-size, padded output.

mmcv's ``batched_nms`` makes NMS class-aware by shifting each class's boxes
by ``label * (max coordinate + 1)`` so that boxes of different classes
never overlap; the graph does the same with one ``NonMaxSuppression``
node, so it keeps the boxes mmdet keeps. ONNX's operator returns a
variable number of ``[batch, class, box]`` rows; scattering their scores
into a ``(B, M)`` tensor and taking its top ``max_det`` gives every image a
fixed-size output in decreasing score, padded with score 0 and label -1.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .onnx_ops import non_max_suppression


class UnsupportedEnd2EndError(ValueError):
    """The model (or its test config) has a step that standard ONNX
    operators cannot express, or that the end-to-end export does not
    cover; the message says which and what to do instead."""


def nms_settings(cfg, where: str) -> Tuple[float, bool]:
    """``(iou_threshold, class_agnostic)`` of a test config's ``nms``;
    refuses NMS variants that ONNX's ``NonMaxSuppression`` is not."""
    nms = dict(cfg.get('nms') or {})
    kind = nms.get('type', 'nms')
    if kind != 'nms':
        raise UnsupportedEnd2EndError(
            f'{where}.nms.type is "{kind}": the end-to-end graph has only '
            "ONNX's NonMaxSuppression (type='nms'); export without "
            '--end2end, or test with nms=dict(type="nms", ...)')
    if 'iou_threshold' not in nms:
        raise UnsupportedEnd2EndError(f'{where}.nms has no iou_threshold')
    return float(nms['iou_threshold']), bool(nms.get('class_agnostic'))


def select_detections(boxes: Tensor,
                      scores: Tensor,
                      labels: Tensor,
                      iou_threshold: float,
                      max_det: int,
                      class_agnostic: bool = False) -> Tuple[Tensor, Tensor]:
    """Class-aware NMS over candidates ``boxes (B, M, 4)``, ``scores
    (B, M)`` (0 for a dropped candidate) and ``labels (B, M)``; returns
    ``dets (B, max_det, 5)`` (x1, y1, x2, y2, score) and ``labels (B,
    max_det)``, in decreasing score, padded with zeros and label -1."""
    batch, num = scores.shape
    if class_agnostic:
        shifted = boxes
    else:
        # the largest coordinate of the candidates still in play, as mmcv
        # takes it: huge boxes of dropped candidates would cost precision
        in_play = torch.where(scores[..., None] > 0, boxes,
                              torch.zeros_like(boxes))
        offsets = labels.to(boxes.dtype) * (in_play.max() + 1)
        shifted = boxes + offsets[..., None]
    keep = non_max_suppression(shifted, scores[:, None, :], max_det,
                               iou_threshold, 0.0)
    kept = torch.zeros_like(scores)
    b, i = keep[:, 0], keep[:, 2]
    kept = kept.index_put((b, i), scores[b, i])
    k = min(max_det, num)
    top, idx = kept.topk(k, dim=1)
    valid = top > 0
    out_boxes = boxes.gather(1, idx[..., None].expand(-1, -1, 4))
    out_boxes = torch.where(valid[..., None], out_boxes,
                            torch.zeros_like(out_boxes))
    dets = torch.cat([out_boxes, top[..., None]], -1)
    out_labels = torch.where(valid, labels.gather(1, idx),
                             torch.full_like(idx, -1))
    if k < max_det:
        dets = torch.cat([dets, dets.new_zeros(batch, max_det - k, 5)], 1)
        out_labels = torch.cat(
            [out_labels,
             out_labels.new_full((batch, max_det - k), -1)], 1)
    return dets, out_labels


class Normalize(nn.Module):
    """The data preprocessor's per-image steps (channel swap, mean and std)
    inside the graph, so that it takes the resized and padded image as
    loaded (0-255, the loader's channel order)."""

    def __init__(self, data_preprocessor: nn.Module) -> None:
        super().__init__()
        # mmengine's preprocessors name it _channel_conversion, mmseg's
        # channel_conversion
        self.swap = bool(
            getattr(data_preprocessor, '_channel_conversion', False)
            or getattr(data_preprocessor, 'channel_conversion', False))
        mean: Optional[Tensor] = None
        std: Optional[Tensor] = None
        if getattr(data_preprocessor, '_enable_normalize', False):
            mean = data_preprocessor.mean.detach().clone().view(1, -1, 1, 1)
            std = data_preprocessor.std.detach().clone().view(1, -1, 1, 1)
        self.register_buffer('mean', mean)
        self.register_buffer('std', std)

    def forward(self, image: Tensor) -> Tensor:
        if self.swap:
            image = image.flip(1)
        if self.mean is not None:
            image = (image - self.mean) / self.std
        return image

    def pad_pixel(self, pad_value: float = 0.0) -> list:
        """The pixel (in the input's channel order) that the data
        preprocessor's padding of the normalized image with ``pad_value``
        stands for."""
        if self.mean is None:
            return [float(pad_value)] * 3
        pixel = (self.mean + pad_value * self.std).flatten().tolist()
        return pixel[::-1] if self.swap else pixel


def gather_rows(values: Tensor, idx: Tensor) -> Tensor:
    """``values (B, N, D)`` (or ``(N, D)``, shared by the batch) at
    ``idx (B, K)`` -> ``(B, K, D)``."""
    if values.dim() == 2:
        return values[idx]
    return values.gather(1, idx[..., None].expand(-1, -1, values.shape[-1]))


def decode_boxes(coder, priors: Tensor, deltas: Tensor,
                 input_shape: Tuple[int, int]) -> Tensor:
    """``coder.decode`` with the boxes clipped to the image as the coder
    clips them (``clip_border``). The clipping is done here: mmdet's own,
    under ``torch.onnx.is_in_onnx_export()``, imports a module mmdet 3 no
    longer has."""
    boxes = coder.decode(priors, deltas, max_shape=None)
    if not getattr(coder, 'clip_border', True):
        return boxes
    h, w = input_shape
    x = boxes[..., 0::2].clamp(min=0, max=w)
    y = boxes[..., 1::2].clamp(min=0, max=h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1)
