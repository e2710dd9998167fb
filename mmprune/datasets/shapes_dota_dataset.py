"""``ShapesDOTADataset``: mmrotate's ``DOTADataset`` over a generated shapes
split (rotated polygons in DOTA label txt, png images). Always registered:
mmrotate is imported only when a config builds it, so that ``import
mmprune`` does not pull in mmrotate, and its absence is said then."""
from typing import Optional

from mmprune.compat.task_libraries import require_library
from mmprune.registry import DATASETS
from .shapes.dataset_args import prepare_split, shapes_metainfo, shapes_spec


def _dota_base():
    require_library('mmrotate', 'mmprune.ShapesDOTADataset')
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
    base = _dota_base()  # before generating: mmrotate may be missing
    data_root = prepare_split('dota', data_root, shapes, 'ShapesDOTADataset')
    size = shapes_spec(shapes, 'ShapesDOTADataset').img_size
    kwargs.setdefault('metainfo', shapes_metainfo(shapes))
    kwargs.setdefault('img_shape', (size, size))
    return base(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=data_prefix,
        **kwargs)
