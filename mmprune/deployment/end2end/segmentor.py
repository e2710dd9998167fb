"""The end-to-end graph of an encoder-decoder segmentor: the image to its
label map (whole-image inference, the decode head's logits resized to the
input and reduced to a class per pixel, or thresholded for one class)."""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .detections import UnsupportedEnd2EndError


class SegmentorGraph(nn.Module):
    """image (0-255, resized and padded) -> ``seg (B, H, W)`` int64."""

    def __init__(self, model: nn.Module, normalize: nn.Module,
                 input_shape: Tuple[int, int]) -> None:
        super().__init__()
        mode = (model.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise UnsupportedEnd2EndError(
                f'model.test_cfg.mode is "{mode}": the end-to-end graph '
                'runs whole-image inference at one input size; export with '
                "test_cfg=dict(mode='whole') at the size to deploy")
        self.model = model
        self.normalize = normalize
        h, w = input_shape
        self.metas = [dict(img_shape=(h, w), pad_shape=(h, w))]

    def forward(self, image: Tensor) -> Tensor:
        logits = self.model.encode_decode(self.normalize(image), self.metas)
        if logits.shape[1] > 1:
            return logits.argmax(1)
        threshold = self.model.decode_head.threshold
        return (logits.sigmoid() > threshold)[:, 0].to(torch.long)
