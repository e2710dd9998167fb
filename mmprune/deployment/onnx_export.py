"""Export a (pruned) model to ONNX and check ONNX Runtime against PyTorch.

``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``; the
dynamo exporter, torch 2.13's default, needs onnxscript). Not mmdeploy:
mmdeploy 1.3.1 (the last release) calls ``torch.onnx.export`` without
``dynamo=False``, so on torch 2.13 its export fails for want of onnxscript
and its function rewriters (which patch the TorchScript exporter) would not
apply; it also pins protobuf<=3.20.2, older than onnx 1.23 needs, and its
ONNX Runtime operators are built for onnxruntime 1.15.1 (measured with
mmdeploy's detection_onnxruntime_static config on RTMDet-tiny).
"""
import json
import os.path as osp
import warnings
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch.utils import _pytree as pytree

from mmprune.utils.atomic_io import atomic_write, dump_json_atomic
from .onnx_graphs import OnnxGraph, onnx_graphs

OPSET = 17
# ONNX Runtime's kernels reorder float sums: outputs agree with PyTorch to
# about 1e-5 of their scale; a wrong weight or width is off by O(1).
ATOL, RTOL = 1e-4, 1e-3


class OnnxParityError(RuntimeError):
    """ONNX Runtime's outputs disagree with PyTorch's on the same input."""


@dataclass
class ExportedGraph:
    name: str
    file: str
    replaces: str
    output_spec: str
    num_features: int
    max_abs_diff: float
    max_abs_output: float
    # DETR family: the layout of forward_transformer's outputs, which the
    # head's predict indexes before the graph's outputs stand in for its
    # forward (see onnx_graphs.TransformerNetworkGraph)
    transformer_outputs: Optional[dict] = None


def manifest_path(onnx_path: str) -> str:
    return osp.splitext(onnx_path)[0] + '.deploy.json'


def graph_path(onnx_path: str, graph_name: str) -> str:
    if graph_name == 'network':
        return onnx_path
    return f'{osp.splitext(onnx_path)[0]}.{graph_name}.onnx'


def import_onnxruntime():
    """The ``onnxruntime`` module, or an error that says how to install it
    (it is the ``deploy`` extra: GPU users install ``onnxruntime-gpu``)."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            'ONNX Runtime is not installed; the export check and latency '
            'measurements need it: pip install "onnxruntime>=1.18" (CPU, '
            'or pip install "mmprune[deploy]"), or onnxruntime-gpu for a '
            'CUDA machine') from None
    return onnxruntime


def ort_session(path: str,
                threads: int = 0,
                providers=None,
                profile_prefix: Optional[str] = None):
    """An ONNX Runtime session; ``threads`` > 0 fixes intra-op threads;
    ``profile_prefix`` turns on its node profile (written there)."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(
        path, options, providers=providers or ['CPUExecutionProvider'])


def compare_outputs(graph: OnnxGraph, got: List[np.ndarray],
                    want: Tuple[torch.Tensor, ...]) -> Tuple[float, float]:
    """``(max abs difference, max abs PyTorch output)``; raises
    :class:`OnnxParityError` naming the graph and output that disagree."""
    worst, scale = 0.0, 0.0
    if len(got) != len(want):
        raise OnnxParityError(
            f'ONNX graph "{graph.name}" has {len(got)} outputs, PyTorch '
            f'{len(want)}')
    for name, a, b in zip(graph.output_names, got, want):
        b = b.detach().cpu().numpy()
        if a.shape != b.shape:
            raise OnnxParityError(
                f'ONNX graph "{graph.name}", output "{name}": shape '
                f'{list(a.shape)} in ONNX Runtime, {list(b.shape)} in '
                'PyTorch')
        diff = float(np.abs(a - b).max()) if a.size else 0.0
        top = float(np.abs(b).max()) if b.size else 0.0
        worst, scale = max(worst, diff), max(scale, top)
        if diff > ATOL + RTOL * top:
            raise OnnxParityError(
                f'ONNX graph "{graph.name}", output "{name}": ONNX Runtime '
                f'differs from PyTorch by up to {diff:.3g} (outputs up to '
                f'{top:.3g}; allowed {ATOL:g} + {RTOL:g} x that)')
    return worst, scale


def export_graph(graph: OnnxGraph, path: str) -> ExportedGraph:
    """Write ``graph`` to ``path`` (atomically) and check it in ONNX
    Runtime on its example inputs."""
    # torch.onnx.export restores the module's own train/eval flag on every
    # submodule afterwards: a wrapper left in train mode would put the
    # whole model's BatchNorm layers in training mode.
    graph.module.eval()

    def write(tmp: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(
                graph.module,
                graph.example_inputs,
                tmp,
                dynamo=False,
                opset_version=OPSET,
                input_names=graph.input_names,
                output_names=graph.output_names,
                dynamic_axes=graph.dynamic_axes or None)

    atomic_write(path, write)
    with torch.no_grad():
        want = graph.module(*graph.example_inputs)
    got = ort_session(path).run(
        None, {
            n: t.cpu().numpy()
            for n, t in zip(graph.input_names, graph.example_inputs)
        })
    diff, scale = compare_outputs(graph, got, want)
    spec = getattr(graph.module, 'head_spec', None) or \
        getattr(graph.module, 'spec', None)
    return ExportedGraph(
        name=graph.name,
        file=osp.basename(path),
        replaces=graph.replaces,
        output_spec=pytree.treespec_dumps(spec),
        num_features=getattr(graph.module, 'num_features', 0),
        max_abs_diff=diff,
        max_abs_output=scale,
        transformer_outputs=_transformer_outputs(graph.module))


def _transformer_outputs(module: nn.Module) -> Optional[dict]:
    spec = getattr(module, 'transformer_spec', None)
    if spec is None:
        return None
    return dict(
        spec=pytree.treespec_dumps(spec), shapes=module.transformer_shapes)


def export_onnx(model: nn.Module,
                path: str,
                input_shape: Tuple[int, int] = (640, 640),
                dynamic: bool = False) -> Dict:
    """Export ``model`` to ``path`` (plus one ``<path stem>.<RoI head>.onnx``
    per RoI head of a two-stage detector) and a manifest
    ``<path stem>.deploy.json`` that ``OnnxRuntimeModel`` reads. Every
    graph is checked in ONNX Runtime against PyTorch; a disagreement raises
    :class:`OnnxParityError` with the largest difference. The model's
    train/eval mode is restored. Returns the manifest."""
    if not path.endswith('.onnx'):
        raise ValueError(f'--out "{path}": must end with .onnx')
    was_training = model.training
    model.eval()
    try:
        graphs = onnx_graphs(model, input_shape, dynamic)
        exported = [export_graph(g, graph_path(path, g.name)) for g in graphs]
    finally:
        model.train(was_training)
    manifest = dict(
        model=type(model).__name__,
        input_shape=list(input_shape),
        dynamic=dynamic,
        opset=OPSET,
        graphs=[asdict(e) for e in exported])
    dump_json_atomic(manifest, manifest_path(path))
    return manifest


def read_manifest(path: str) -> Dict:
    mpath = manifest_path(path)
    if not osp.isfile(mpath):
        raise FileNotFoundError(
            f'{mpath} not found: export "{path}" with '
            'tools/deployment/export_onnx.py, which writes it beside')
    with open(mpath) as f:
        return json.load(f)
