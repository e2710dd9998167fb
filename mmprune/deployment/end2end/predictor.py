"""Predictions of an end-to-end ONNX graph in ONNX Runtime, as data samples
that the config's evaluator reads: the deployed model's accuracy."""
import copy
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..deploy_data import padded_image
from ..onnx_export import ort_session, read_manifest


class End2EndOnnxModel:
    """An exported (or quantized) end-to-end graph, run in ONNX Runtime.
    ``predict`` takes a loader batch (batch 1, before the data
    preprocessor) and returns its data samples with the predictions in the
    original image's coordinates, as ``model.test_step`` does."""

    def __init__(self,
                 onnx_path: str,
                 threads: int = 0,
                 providers: Optional[Sequence[str]] = None) -> None:
        self.path = onnx_path
        self.manifest = read_manifest(onnx_path)
        if not self.manifest.get('end2end'):
            raise ValueError(
                f'"{onnx_path}" is a split export (network graph only): '
                'evaluate it with --checkpoint, which runs the '
                'post-processing in Python')
        self.task = self.manifest['task']
        self.input_shape = tuple(self.manifest['input_shape'])
        self.pad_pixel = self.manifest['preprocess']['pad_pixel']
        self.session = ort_session(onnx_path, threads,
                                   list(providers) if providers else None)

    def run(self, image: torch.Tensor) -> List[np.ndarray]:
        return self.session.run(None, {'image': image.numpy()})

    def predict(self, data: dict) -> list:
        sample = copy.deepcopy(data['data_samples'][0])
        image = padded_image(data['inputs'][0], self.input_shape,
                             self.pad_pixel)
        outs = self.run(image)
        if self.task == 'segmentation':
            self._set_label_map(sample, outs[0][0])
        else:
            self._set_detections(sample, outs[0][0], outs[1][0])
        return [sample]

    @staticmethod
    def _set_detections(sample, dets: np.ndarray, labels: np.ndarray):
        from mmengine.structures import InstanceData
        keep = dets[:, 4] > 0
        boxes = torch.from_numpy(dets[keep, :4].copy())
        h, w = sample.metainfo['img_shape'][:2]
        # the graph clips to its padded input; the image may be smaller
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))[:2]
        boxes = boxes / boxes.new_tensor([sx, sy, sx, sy])
        sample.pred_instances = InstanceData(
            bboxes=boxes,
            scores=torch.from_numpy(dets[keep, 4].copy()),
            labels=torch.from_numpy(labels[keep].astype(np.int64)))

    @staticmethod
    def _set_label_map(sample, seg: np.ndarray):
        from mmengine.structures import PixelData
        h, w = sample.metainfo['img_shape'][:2]
        label = torch.from_numpy(seg[:h, :w].astype(np.int64))[None]
        ori = tuple(sample.metainfo.get('ori_shape', (h, w))[:2])
        if ori != (h, w):
            label = F.interpolate(
                label[None].float(), size=ori, mode='nearest')[0].long()
        sample.pred_sem_seg = PixelData(data=label)
