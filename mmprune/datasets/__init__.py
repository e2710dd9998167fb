from .shapes_datasets import (ShapesCocoDataset, ShapesDOTADataset,
                              ShapesSegDataset)

__all__ = ['ShapesCocoDataset', 'ShapesDOTADataset', 'ShapesSegDataset']
