"""``ShapesCocoDataset``: mmdet's stock ``CocoDataset`` over a generated
shapes split (boxes, masks); the split is generated into ``data_root`` on
first use, and reading, filtering and evaluation stay mmdet's. Registered
when mmdet is installed."""
from typing import Optional

from mmdet.datasets import CocoDataset

from mmprune.registry import DATASETS
from .shapes.dataset_args import prepare_split, shapes_metainfo


@DATASETS.register_module()
class ShapesCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` over a generated shapes split (boxes, masks)."""

    def __init__(self,
                 data_root: Optional[str] = None,
                 shapes: Optional[dict] = None,
                 ann_file: str = 'annotation.json',
                 data_prefix: dict = dict(img='images/'),
                 **kwargs):
        data_root = prepare_split('coco', data_root, shapes,
                                  type(self).__name__)
        kwargs.setdefault('metainfo', shapes_metainfo(shapes))
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)
