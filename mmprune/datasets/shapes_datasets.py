"""Stock OpenMMLab dataset classes that generate their shapes split first.

Each class only adds the ``shapes`` argument (a :class:`ShapesSpec` as a
dict) and generates the split into ``data_root`` on first use; reading,
filtering and evaluation stay the stock ``CocoDataset``, ``DOTADataset`` and
``BaseSegDataset`` code, so a shapes folder is also readable by the stock
classes themselves.
"""
from typing import Optional

from mmdet.datasets import CocoDataset
from mmseg.datasets import BaseSegDataset

from mmprune.registry import DATASETS
from .shapes import (SHAPE_CLASSES, SHAPE_PALETTE, ShapesSpec,
                     prepare_shapes_dataset)


def _spec(shapes: Optional[dict], cls_name: str) -> ShapesSpec:
    try:
        return ShapesSpec(**(shapes or {}))
    except TypeError as e:
        raise TypeError(f'{cls_name}.shapes: {e}') from None


def _prepare(fmt: str, data_root: Optional[str], shapes: Optional[dict],
             cls_name: str) -> str:
    if not data_root:
        raise ValueError(f'{cls_name} needs data_root: the folder to hold '
                         '(or generate) the shapes split')
    return prepare_shapes_dataset(data_root, fmt, _spec(shapes, cls_name))


def _metainfo(shapes: Optional[dict], background: bool = False) -> dict:
    classes = tuple((shapes or {}).get('classes', SHAPE_CLASSES))
    palette = [SHAPE_PALETTE[i % len(SHAPE_PALETTE)]
               for i in range(len(classes))]
    if background:
        return dict(
            classes=('background', ) + classes,
            palette=[(0, 0, 0)] + palette)
    return dict(classes=classes, palette=palette)


@DATASETS.register_module()
class ShapesCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` over a generated shapes split (boxes, masks)."""

    def __init__(self,
                 data_root: Optional[str] = None,
                 shapes: Optional[dict] = None,
                 ann_file: str = 'annotation.json',
                 data_prefix: dict = dict(img='images/'),
                 **kwargs):
        data_root = _prepare('coco', data_root, shapes, type(self).__name__)
        kwargs.setdefault('metainfo', _metainfo(shapes))
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)


def _dota_base():
    # mmrotate is imported here, not at module import, so that
    # ``import mmprune`` does not pull in mmrotate for mmdet/mmseg users.
    from mmrotate.datasets import DOTADataset
    return DOTADataset


@DATASETS.register_module()
def ShapesDOTADataset(data_root: Optional[str] = None,
                      shapes: Optional[dict] = None,
                      ann_file: str = 'labelTxt/',
                      data_prefix: dict = dict(img_path='images/'),
                      **kwargs):
    """mmrotate ``DOTADataset`` over a generated shapes split (rotated
    polygons in DOTA label txt, png images)."""
    data_root = _prepare('dota', data_root, shapes, 'ShapesDOTADataset')
    size = _spec(shapes, 'ShapesDOTADataset').img_size
    kwargs.setdefault('metainfo', _metainfo(shapes))
    kwargs.setdefault('img_shape', (size, size))
    return _dota_base()(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=data_prefix,
        **kwargs)


@DATASETS.register_module()
class ShapesSegDataset(BaseSegDataset):
    """mmseg dataset over a generated shapes split (PNG label maps, 0 is
    background)."""
    METAINFO = _metainfo(None, background=True)

    def __init__(self,
                 data_root: Optional[str] = None,
                 shapes: Optional[dict] = None,
                 data_prefix: dict = dict(
                     img_path='images', seg_map_path='labels'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs):
        data_root = _prepare('seg', data_root, shapes, type(self).__name__)
        if shapes and 'classes' in shapes:
            kwargs.setdefault('metainfo', _metainfo(shapes, background=True))
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
