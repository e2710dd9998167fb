"""From a (pruned) checkpoint to a deployed model: the model rebuilt from
its checkpoint, ONNX export checked in ONNX Runtime, and prediction with
the exported graphs."""
from .deployable_model import load_deployable_model
from .onnx_export import (OnnxParityError, export_onnx, graph_path,
                          manifest_path, ort_session, read_manifest)
from .onnx_graphs import OnnxGraph, onnx_graphs
from .onnxruntime_model import (OnnxRuntimeModel, prediction_tensors,
                                predictions_max_difference)

__all__ = [
    'OnnxGraph', 'OnnxParityError', 'OnnxRuntimeModel', 'export_onnx',
    'graph_path', 'load_deployable_model', 'manifest_path', 'onnx_graphs',
    'ort_session', 'prediction_tensors', 'predictions_max_difference',
    'read_manifest'
]
