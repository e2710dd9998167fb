from .prepare import (META_FILE, NotAShapesDatasetError,
                      prepare_shapes_dataset, read_shapes_meta)
from .scene import SHAPE_CLASSES, SHAPE_PALETTE, ShapesSpec, render_scene

__all__ = [
    'SHAPE_CLASSES', 'SHAPE_PALETTE', 'ShapesSpec', 'render_scene',
    'prepare_shapes_dataset', 'read_shapes_meta', 'NotAShapesDatasetError',
    'META_FILE'
]
