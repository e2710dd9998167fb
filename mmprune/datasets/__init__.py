"""mmprune's datasets: the stock dataset class of each task library over a
generated shapes split. A class registers only when its library is
installed; otherwise a stand-in of the same name says which package a
config that uses it needs."""
from mmprune.compat.task_libraries import library_available, require_library
from mmprune.registry import DATASETS
from .shapes_dota_dataset import ShapesDOTADataset


def _register_missing(name: str, scope: str) -> None:

    def missing(*args, **kwargs):
        require_library(scope, f'mmprune.{name}')

    missing.__name__ = name
    DATASETS.register_module(name=name, module=missing)


__all__ = ['ShapesDOTADataset']
if library_available('mmdet'):
    from .shapes_coco_dataset import ShapesCocoDataset  # noqa: F401
    __all__.append('ShapesCocoDataset')
else:
    _register_missing('ShapesCocoDataset', 'mmdet')
if library_available('mmseg'):
    from .shapes_seg_dataset import ShapesSegDataset  # noqa: F401
    __all__.append('ShapesSegDataset')
else:
    _register_missing('ShapesSegDataset', 'mmseg')
