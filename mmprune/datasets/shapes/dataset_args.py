"""What the shapes dataset classes share: the ``shapes`` argument read as a
:class:`ShapesSpec`, the split generated into ``data_root`` on first use,
and the class names and palette as dataset metainfo."""
from typing import Optional

from .prepare import prepare_shapes_dataset
from .scene import SHAPE_CLASSES, SHAPE_PALETTE, ShapesSpec


def shapes_spec(shapes: Optional[dict], cls_name: str) -> ShapesSpec:
    try:
        return ShapesSpec(**(shapes or {}))
    except TypeError as e:
        raise TypeError(f'{cls_name}.shapes: {e}') from None


def prepare_split(fmt: str, data_root: Optional[str], shapes: Optional[dict],
                  cls_name: str) -> str:
    if not data_root:
        raise ValueError(f'{cls_name} needs data_root: the folder to hold '
                         '(or generate) the shapes split')
    return prepare_shapes_dataset(data_root, fmt,
                                  shapes_spec(shapes, cls_name))


def shapes_metainfo(shapes: Optional[dict], background: bool = False) -> dict:
    classes = tuple((shapes or {}).get('classes', SHAPE_CLASSES))
    palette = [
        SHAPE_PALETTE[i % len(SHAPE_PALETTE)] for i in range(len(classes))
    ]
    if background:
        return dict(
            classes=('background', ) + classes, palette=[(0, 0, 0)] + palette)
    return dict(classes=classes, palette=palette)
