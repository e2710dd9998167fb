"""One ONNX graph from the image to the final predictions: detections
after NMS, or a segmentation label map. Data-dependent steps use standard
ONNX operators only (``NonMaxSuppression``, ``RoiAlign``, ``TopK``), so the
graph runs in any ONNX runtime without Python or custom operators."""
from .detections import Normalize, UnsupportedEnd2EndError
from .graph import End2EndGraph, end2end_graph

__all__ = [
    'End2EndGraph', 'Normalize', 'UnsupportedEnd2EndError', 'end2end_graph'
]
