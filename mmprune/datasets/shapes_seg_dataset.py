"""``ShapesSegDataset``: mmseg's ``BaseSegDataset`` over a generated shapes
split (PNG label maps, 0 is background). Registered when mmsegmentation is
installed."""
from typing import Optional

from mmseg.datasets import BaseSegDataset

from mmprune.registry import DATASETS
from .shapes.dataset_args import prepare_split, shapes_metainfo


@DATASETS.register_module()
class ShapesSegDataset(BaseSegDataset):
    """mmseg dataset over a generated shapes split (PNG label maps, 0 is
    background)."""
    METAINFO = shapes_metainfo(None, background=True)

    def __init__(self,
                 data_root: Optional[str] = None,
                 shapes: Optional[dict] = None,
                 data_prefix: dict = dict(
                     img_path='images', seg_map_path='labels'),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs):
        data_root = prepare_split('seg', data_root, shapes,
                                  type(self).__name__)
        if shapes and 'classes' in shapes:
            kwargs.setdefault('metainfo',
                              shapes_metainfo(shapes, background=True))
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
