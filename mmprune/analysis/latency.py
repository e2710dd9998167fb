"""Measured inference latency of a model: its tensor-mode forward in
PyTorch, and its exported graphs in PyTorch and in ONNX Runtime."""
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .module_breakdown import synthetic_batch


@torch.no_grad()
def measure_latency(model: nn.Module,
                    input_shape: Tuple[int, int] = (640, 640),
                    runs: int = 10,
                    warmup: int = 2) -> float:
    """Median wall time in ms of a tensor-mode forward of one synthetic
    image (backbone, neck and head; no post-processing, which depends on
    how many boxes a random model emits). The model's train/eval mode is
    restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        data = synthetic_batch(model, *input_shape)
        device = next(model.parameters()).device
        inputs = data['inputs'].to(device)
        times = []
        for i in range(warmup + runs):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(inputs, data['data_samples'], mode='tensor')
            if device.type == 'cuda':
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    times.sort()
    return round(1000 * times[len(times) // 2], 3)


@dataclass
class LatencyStats:
    """Wall time of ``runs`` timed calls after warm-up, batch 1."""
    runtime: str
    median_ms: float
    min_ms: float
    max_ms: float
    runs: int
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f'{self.median_ms:.2f} ms median (min {self.min_ms:.2f}, '
                f'max {self.max_ms:.2f}; {self.runs} runs, {self.threads} '
                'threads)')


def time_calls(fn: Callable[[], object], runtime: str, threads: int,
               runs: int = 20, warmup: int = 3,
               sync: Callable[[], None] = lambda: None) -> LatencyStats:
    """``fn``'s wall time; ``sync`` waits for an accelerator's queue."""
    times = []
    for i in range(warmup + runs):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        if i >= warmup:
            times.append(1000 * (time.perf_counter() - start))
    return LatencyStats(runtime, round(statistics.median(times), 3),
                        round(min(times), 3), round(max(times), 3), runs,
                        threads)


@contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run with ``threads`` intra-op threads (0: as set); yields the count."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def rois_at_test(model: nn.Module) -> int:
    """How many proposals a two-stage detector's RoI heads see per image at
    test time (its RPN's ``max_per_img``); 1000 when the config is silent."""
    test_cfg = getattr(model, 'test_cfg', None) or {}
    rpn = test_cfg.get('rpn') if hasattr(test_cfg, 'get') else None
    return int((rpn or {}).get('max_per_img', 1000))


@torch.no_grad()
def measure_torch_latency(model: nn.Module,
                          input_shape: Tuple[int, int] = (640, 640),
                          runs: int = 20, warmup: int = 3,
                          threads: int = 0) -> LatencyStats:
    """PyTorch time of what the ONNX export holds: the network (backbone,
    neck, dense head) on one image and, for a two-stage detector, every RoI
    head on :func:`rois_at_test` RoIs. Post-processing (decoding, NMS, RoI
    Align) is left out of both runtimes, so the two compare like for
    like."""
    from mmprune.deployment.onnx_graphs import onnx_graphs
    was_training = model.training
    model.eval()
    try:
        graphs = onnx_graphs(model, input_shape, num_rois=rois_at_test(model))
        cuda = next(model.parameters()).is_cuda
        with torch_threads(threads) as n:
            return time_calls(
                lambda: [g.module(*g.example_inputs) for g in graphs],
                'torch', n, runs, warmup,
                torch.cuda.synchronize if cuda else lambda: None)
    finally:
        model.train(was_training)


def measure_onnxruntime_latency(onnx_path: str, runs: int = 20,
                                warmup: int = 3, threads: int = 0,
                                providers: Optional[Sequence[str]] = None,
                                num_rois: int = 1000) -> LatencyStats:
    """ONNX Runtime time of an export (``onnx_path`` and its manifest): the
    network on one image at the exported size, and each RoI head graph on
    ``num_rois`` RoIs. ``threads`` 0 uses torch's thread count, so both
    runtimes are measured alike."""
    import os.path as osp

    import numpy as np

    from mmprune.deployment.onnx_export import ort_session, read_manifest
    manifest = read_manifest(onnx_path)
    threads = threads or torch.get_num_threads()
    folder = osp.dirname(osp.abspath(onnx_path))
    calls: List[Callable[[], object]] = []
    rng = np.random.default_rng(0)
    for g in manifest['graphs']:
        session = ort_session(osp.join(folder, g['file']), threads,
                              list(providers) if providers else None)
        feed = {}
        for i in session.get_inputs():
            if g['name'] == 'network':
                shape = [1, 3] + list(manifest['input_shape'])
            else:
                shape = [num_rois] + list(i.shape[1:])
            feed[i.name] = rng.standard_normal(shape).astype(np.float32)
        calls.append(lambda s=session, f=feed: s.run(None, f))
    return time_calls(lambda: [c() for c in calls], 'onnxruntime', threads,
                      runs, warmup)


def onnxruntime_providers(model: nn.Module) -> List[str]:
    """ONNX Runtime's CUDA provider for a model on a GPU when it has one;
    the CPU provider otherwise."""
    import onnxruntime as ort
    if next(model.parameters()).is_cuda and \
            'CUDAExecutionProvider' in ort.get_available_providers():
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


def runtime_latencies(model: nn.Module, input_shape: Tuple[int, int],
                      runs: int = 10, warmup: int = 2) -> dict:
    """Latency of ``model``'s exportable graphs in PyTorch and, exported to
    a temporary ONNX file, in ONNX Runtime: ``{'torch': stats,
    'onnxruntime': stats}`` (:class:`LatencyStats` as dicts). A model that
    does not export gets ``{'error': why}`` for ONNX Runtime instead, so
    that pruning still reports the rest."""
    import tempfile

    from mmprune.deployment.onnx_export import export_onnx
    out = dict(torch=measure_torch_latency(model, input_shape, runs,
                                           warmup).to_dict())
    was_training = model.training
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = f'{tmp}/model.onnx'
            export_onnx(model, path, input_shape)
            out['onnxruntime'] = measure_onnxruntime_latency(
                path, runs, warmup, num_rois=rois_at_test(model),
                providers=onnxruntime_providers(model)).to_dict()
    except Exception as e:  # noqa: BLE001 - reported, never fatal here
        out['onnxruntime'] = dict(error=f'{type(e).__name__}: {e}'[:500])
    finally:
        model.train(was_training)
    return out


def latency_speed_ups(before: dict, after: dict) -> dict:
    """Per runtime, the median latency before over after."""
    return {k: before[k]['median_ms'] / after[k]['median_ms']
            for k in before
            if 'median_ms' in before[k] and 'median_ms' in after.get(k, {})}


def latency_line(before: dict, after: dict) -> str:
    """``torch 12.1 -> 7.0 ms (1.73x), onnxruntime ...`` for a log line."""
    parts = []
    for k, b in before.items():
        a = after.get(k, {})
        if 'median_ms' in b and 'median_ms' in a:
            parts.append(f'{k} {b["median_ms"]:.2f} -> {a["median_ms"]:.2f} '
                         f'ms ({b["median_ms"] / a["median_ms"]:.2f}x)')
        else:
            parts.append(f'{k} not measured '
                         f'({a.get("error") or b.get("error")})')
    return ', '.join(parts)
