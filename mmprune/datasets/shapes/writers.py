"""Write shapes scenes in the on-disk formats the stock dataset classes read.

One writer per format, registered by name in
:data:`mmprune.registry.SHAPES_WRITERS`:

- ``coco``: ``images/*.png`` + ``annotation.json`` (boxes, polygon masks),
  read by mmdet's ``CocoDataset`` and scored by ``CocoMetric``;
- ``dota``: ``images/*.png`` + ``labelTxt/*.txt`` (rotated polygons,
  ``x1 y1 ... x4 y4 class difficult``), read by mmrotate's ``DOTADataset``;
- ``seg``: ``images/*.png`` + ``labels/*.png`` (0 = background, class i is
  i + 1), read by mmseg datasets and scored by ``IoUMetric``.
"""
import json
import os.path as osp
from typing import List

import cv2
import numpy as np

from mmprune.registry import SHAPES_WRITERS
from .scene import ShapesSpec, obox_corners, render_scene


def _image_name(index: int) -> str:
    return f'{index:06d}'


def _mask_polygons(mask: np.ndarray) -> List[List[float]]:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [
        c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3
    ]


def _scenes(root: str, spec: ShapesSpec):
    """Render every image, save it, yield (index, name, objects)."""
    for index in range(spec.num_images):
        img, objects = render_scene(spec, index)
        name = _image_name(index)
        cv2.imwrite(osp.join(root, 'images', name + '.png'), img)
        yield index, name, objects


@SHAPES_WRITERS.register_module(name='coco')
def write_coco(root: str, spec: ShapesSpec) -> None:
    images, annotations = [], []
    for index, name, objects in _scenes(root, spec):
        images.append(
            dict(
                id=index,
                file_name=name + '.png',
                width=spec.img_size,
                height=spec.img_size))
        for obj in objects:
            ys, xs = np.nonzero(obj.visible)
            polygons = _mask_polygons(obj.visible)
            if len(xs) == 0 or not polygons:
                continue
            x0, y0 = float(xs.min()), float(ys.min())
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index,
                    category_id=obj.label + 1,
                    bbox=[
                        x0, y0,
                        float(xs.max()) + 1 - x0,
                        float(ys.max()) + 1 - y0
                    ],
                    area=float(obj.visible.sum()),
                    segmentation=polygons,
                    iscrowd=0))
    categories = [
        dict(id=i + 1, name=c, supercategory='shape')
        for i, c in enumerate(spec.classes)
    ]
    with open(osp.join(root, 'annotation.json'), 'w') as f:
        json.dump(
            dict(
                images=images, annotations=annotations, categories=categories),
            f)


@SHAPES_WRITERS.register_module(name='dota')
def write_dota(root: str, spec: ShapesSpec) -> None:
    for _, name, objects in _scenes(root, spec):
        lines = []
        for obj in objects:
            corners = obox_corners(obj.obox).reshape(-1)
            coords = ' '.join(f'{v:.1f}' for v in corners)
            lines.append(f'{coords} {spec.classes[obj.label]} 0')
        with open(osp.join(root, 'labelTxt', name + '.txt'), 'w') as f:
            f.write('\n'.join(lines) + ('\n' if lines else ''))


@SHAPES_WRITERS.register_module(name='seg')
def write_seg(root: str, spec: ShapesSpec) -> None:
    for _, name, objects in _scenes(root, spec):
        label = np.zeros((spec.img_size, spec.img_size), np.uint8)
        for obj in objects:  # drawing order: later objects occlude
            label[obj.visible] = obj.label + 1
        cv2.imwrite(osp.join(root, 'labels', name + '.png'), label)


SUBDIRS = dict(
    coco=['images'], dota=['images', 'labelTxt'], seg=['images', 'labels'])
