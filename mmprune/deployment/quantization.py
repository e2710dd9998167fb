"""INT8 quantization of an exported ONNX graph with ONNX Runtime's static
quantizer: QDQ format, per-channel int8 weights, uint8 activations
calibrated on images the deployed model will see.

Only the network is quantized: nodes outside it (box decoding, NMS, RoI
Align, the label map's resize) stay in float, because their coordinates
and scores need float precision and cost little time. The network's
final layers (the convolutions or fully connected layers that produce the
head's outputs, after which no weighted layer follows) are kept in float
by default, since their outputs are the scores and box offsets.
"""
import fnmatch
import os
import os.path as osp
import tempfile
import time
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmprune.utils.atomic_io import atomic_write, dump_json_atomic
from .onnx_export import import_onnxruntime

WEIGHTED_OPS = ('Conv', 'Gemm', 'MatMul', 'ConvTranspose')


def network_nodes(graph, post_scopes: Sequence[str]) -> List[str]:
    """Names of the nodes that belong to the network. A node's name is the
    scope of the module calls it was traced in (``/backbone/stem/...``):
    nodes of the end-to-end wrapper's own steps (``post_scopes``, such as
    ``/candidates``) or of its forward itself (one segment, ``/TopK_1``)
    are not."""
    out = []
    for n in graph.node:
        parts = n.name.split('/')
        if len(parts) < 3 or '/' + parts[1] in post_scopes:
            continue
        out.append(n.name)
    return out


def final_weighted_nodes(graph) -> List[str]:
    """Weighted nodes (convolutions, fully connected) with no weighted node
    downstream: the layers that produce the network's outputs."""
    consumers: Dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    memo: Dict[str, bool] = {}

    def weighted_below(node) -> bool:
        # iterative DFS: graphs are deep enough to exhaust recursion
        if node.name in memo:
            return memo[node.name]
        stack, seen, found = [node], set(), False
        while stack and not found:
            cur = stack.pop()
            for out in cur.output:
                for c in consumers.get(out, []):
                    if c.name in seen:
                        continue
                    seen.add(c.name)
                    if c.op_type in WEIGHTED_OPS or memo.get(c.name):
                        found = True
                        break
                    stack.append(c)
        memo[node.name] = found
        return found

    return [
        n.name for n in graph.node
        if n.op_type in WEIGHTED_OPS and not weighted_below(n)
    ]


def float_nodes(graph, post_scopes: Sequence[str],
                keep_float: Sequence[str]) -> Dict[str, List[str]]:
    """The nodes to leave in float, by reason: ``post_processing`` (outside
    the network), ``final_layers`` (``'auto'`` in ``keep_float``) and
    ``patterns`` (fnmatch patterns of node names, e.g. ``*/rtm_cls*``)."""
    network = set(network_nodes(graph, post_scopes))
    out = dict(
        post_processing=[n.name for n in graph.node if n.name not in network],
        final_layers=[],
        patterns=[])
    if 'auto' in keep_float:
        out['final_layers'] = [
            n for n in final_weighted_nodes(graph) if n in network
        ]
    patterns = [p for p in keep_float if p not in ('auto', 'none')]
    for p in patterns:
        hits = [n.name for n in graph.node if fnmatch.fnmatch(n.name, p)]
        if not hits:
            raise ValueError(
                f'--keep-float "{p}" matches no node of the graph; node '
                'names look like '
                f'{[n.name for n in graph.node[:3]]}')
        out['patterns'] += hits
    return out


class ImageReader:
    """ONNX Runtime's ``CalibrationDataReader`` over image batches."""

    def __init__(self,
                 input_name: str,
                 images: Iterable[np.ndarray],
                 logger=None,
                 total: int = 0) -> None:
        self.input_name = input_name
        self.images = iter(images)
        self.count = 0
        self.logger, self.total = logger, total

    def get_next(self) -> Optional[dict]:
        image = next(self.images, None)
        if image is None:
            return None
        self.count += 1
        if self.logger and self.total and self.count % 50 == 0:
            self.logger.info(f'calibration: {self.count}/{self.total} '
                             'images')
        return {self.input_name: np.asarray(image, dtype=np.float32)}

    def rewind(self) -> None:
        raise RuntimeError('calibration images are read once')


def quantize_onnx(model_path: str,
                  out_path: str,
                  images: Iterable[np.ndarray],
                  num_images: int = 0,
                  keep_float: Sequence[str] = ('auto', ),
                  method: str = 'minmax',
                  per_channel: bool = True) -> Dict:
    """Quantize ``model_path`` to ``out_path`` (atomically), calibrated on
    ``images`` (arrays of the graph's input shape); returns the report."""
    import onnx
    ort = import_onnxruntime()
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    methods = dict(
        minmax=CalibrationMethod.MinMax,
        entropy=CalibrationMethod.Entropy,
        percentile=CalibrationMethod.Percentile)
    if method not in methods:
        raise ValueError(f'--method {method}: one of {sorted(methods)}')
    logger = MMLogger.get_current_instance()
    from .onnx_export import read_manifest
    post_scopes = read_manifest(model_path).get('post_processing_scopes', [])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        prepared = osp.join(tmp, 'prepared.onnx')
        try:
            quant_pre_process(model_path, prepared)
        except Exception as e:  # noqa: BLE001  (symbolic shape inference)
            logger.info(f'quant_pre_process: symbolic shape inference '
                        f'failed ({type(e).__name__}); without it')
            quant_pre_process(model_path, prepared, skip_symbolic_shape=True)
        graph = onnx.load(prepared).graph
        kept = float_nodes(graph, post_scopes, keep_float)
        exclude = sorted(set(sum(kept.values(), [])))
        reader = ImageReader(graph.input[0].name, images, logger, num_images)

        def write(path: str) -> None:
            quantize_static(
                prepared,
                path,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=exclude,
                calibrate_method=methods[method],
                extra_options=dict(CalibTensorRangeSymmetric=False))

        atomic_write(out_path, write)
    quantized = onnx.load(out_path).graph
    report = dict(
        source=osp.basename(model_path),
        model=osp.basename(out_path),
        onnxruntime=ort.__version__,
        format='QDQ',
        weights='int8, per channel' if per_channel else 'int8, per tensor',
        activations='uint8',
        calibration=dict(method=method, images=reader.count),
        kept_float={
            k: len(v)
            for k, v in kept.items()
        },
        kept_float_nodes=dict(
            final_layers=kept['final_layers'], patterns=kept['patterns']),
        quantized_weighted_nodes=sum(
            1 for n in graph.node
            if n.op_type in WEIGHTED_OPS and n.name not in exclude),
        weighted_nodes=sum(1 for n in graph.node if n.op_type in WEIGHTED_OPS),
        quantize_linear_nodes=sum(1 for n in quantized.node
                                  if n.op_type == 'QuantizeLinear'),
        size_mb=dict(
            float=round(os.path.getsize(model_path) / 2**20, 3),
            int8=round(os.path.getsize(out_path) / 2**20, 3)),
        seconds=round(time.perf_counter() - start, 1))
    return report


def copy_manifest(model_path: str, out_path: str, report: Dict) -> None:
    """The float graph's manifest beside the quantized one, with the
    quantization report, so that the tools read it as an export."""
    from .onnx_export import manifest_path, read_manifest
    manifest = dict(read_manifest(model_path))
    manifest.update(file=osp.basename(out_path), quantization=report)
    if 'graphs' in manifest:
        if len(manifest['graphs']) != 1:
            raise ValueError(
                f'"{model_path}" is a split export of '
                f'{len(manifest["graphs"])} graphs; quantize an --end2end '
                'export (one graph)')
        manifest['graphs'] = [
            dict(manifest['graphs'][0], file=osp.basename(out_path))
        ]
    dump_json_atomic(manifest, manifest_path(out_path))
