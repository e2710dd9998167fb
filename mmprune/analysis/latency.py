"""Measured inference latency of a model: its tensor-mode forward in
PyTorch, and its exported graphs in PyTorch and in ONNX Runtime."""
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmprune.datasets.synthetic_batch import synthetic_test_batch
from mmprune.utils.device import synchronizer


@dataclass
class LatencyStats:
    """Wall time of ``runs`` timed calls after warm-up, batch 1."""
    runtime: str
    median_ms: float
    min_ms: float
    max_ms: float
    runs: int
    threads: int
    # ONNX Runtime: the best of this many fresh sessions
    sessions: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        best = (f', best of {self.sessions} sessions'
                if self.sessions > 1 else '')
        return (f'{self.median_ms:.2f} ms median (min {self.min_ms:.2f}, '
                f'max {self.max_ms:.2f}; {self.runs} runs, {self.threads} '
                f'threads{best})')


def time_calls(fn: Callable[[], object],
               runtime: str,
               threads: int,
               runs: int = 20,
               warmup: int = 3,
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


@torch.no_grad()
def tensor_mode_latency(model: nn.Module,
                        input_shape: Tuple[int, int] = (640, 640),
                        runs: int = 10,
                        warmup: int = 2) -> LatencyStats:
    """A tensor-mode forward of one synthetic image (backbone, neck and
    head; a two-stage detector's proposals and RoI head included; no
    post-processing, which depends on how many boxes a random model emits).
    The model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        data = synthetic_test_batch(model, *input_shape)
        device = next(model.parameters()).device
        inputs = data['inputs'].to(device)
        return time_calls(
            lambda: model(inputs, data['data_samples'], mode='tensor'),
            'torch', torch.get_num_threads(), runs, warmup,
            synchronizer(device))
    finally:
        model.train(was_training)


def measure_latency(model: nn.Module,
                    input_shape: Tuple[int, int] = (640, 640),
                    runs: int = 10,
                    warmup: int = 2) -> float:
    """Median ms of :func:`tensor_mode_latency`."""
    return tensor_mode_latency(model, input_shape, runs, warmup).median_ms


def rois_at_test(model: nn.Module) -> int:
    """How many proposals a two-stage detector's RoI heads see per image at
    test time (its RPN's ``max_per_img``); 1000 when the config is silent."""
    test_cfg = getattr(model, 'test_cfg', None) or {}
    rpn = test_cfg.get('rpn') if hasattr(test_cfg, 'get') else None
    return int((rpn or {}).get('max_per_img', 1000))


@torch.no_grad()
def measure_torch_latency(model: nn.Module,
                          input_shape: Tuple[int, int] = (640, 640),
                          runs: int = 20,
                          warmup: int = 3,
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
        sync = synchronizer(next(model.parameters()).device)
        with torch_threads(threads) as n:
            return time_calls(
                lambda: [g.module(*g.example_inputs) for g in graphs], 'torch',
                n, runs, warmup, sync)
    finally:
        model.train(was_training)


def random_feed(session, manifest: dict, graph: dict, num_rois: int,
                rng) -> dict:
    """Random inputs for one exported graph: the network takes one image
    at the exported size, a RoI head ``num_rois`` RoI features, an
    end-to-end graph an image of 0-255 pixels."""
    import numpy as np
    feed = {}
    if manifest.get('end2end'):
        shape = [1, 3] + list(manifest['input_shape'])
        return dict(image=(255 * rng.random(shape)).astype(np.float32))
    for i in session.get_inputs():
        shape = ([1, 3] + list(manifest['input_shape']) if graph['name']
                 == 'network' else [num_rois] + list(i.shape[1:]))
        feed[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feed


def measure_onnxruntime_latency(onnx_path: str,
                                runs: int = 20,
                                warmup: int = 3,
                                threads: int = 0,
                                providers: Optional[Sequence[str]] = None,
                                num_rois: int = 1000,
                                sessions: int = 3,
                                image=None) -> LatencyStats:
    """ONNX Runtime time of an export (``onnx_path`` and its manifest): the
    network on one image at the exported size, and each RoI head graph on
    ``num_rois`` RoIs. ``threads`` 0 uses torch's thread count, so both
    runtimes are measured alike.

    The stats are those of the fastest of ``sessions`` fresh sessions (by
    median): on a 2-core machine one session's median differed from the
    next by up to 30% (79 vs 102 ms for RTMDet-tiny, each steady within
    itself: where its threads landed), and the best of several is the
    time the model can run in, as ``timeit`` takes the best repeat.

    ``image`` (an array of the graph's input shape) replaces the random
    image: an end-to-end graph's NMS takes as long as the image has
    candidate boxes, so a real image times what a deployment sees."""
    import os.path as osp

    import numpy as np

    from mmprune.deployment.onnx_export import ort_session, read_manifest
    manifest = read_manifest(onnx_path)
    threads = threads or torch.get_num_threads()
    folder = osp.dirname(osp.abspath(onnx_path))
    rng = np.random.default_rng(0)
    feeds = []
    best = None
    for _ in range(max(1, sessions)):
        calls: List[Callable[[], object]] = []
        graphs = manifest.get('graphs') or [
            dict(name='end2end', file=manifest['file'])
        ]
        for k, g in enumerate(graphs):
            session = ort_session(
                osp.join(folder, g['file']), threads,
                list(providers) if providers else None)
            if len(feeds) <= k:
                feeds.append(random_feed(session, manifest, g, num_rois, rng))
                if image is not None and k == 0:
                    name = session.get_inputs()[0].name
                    feeds[k][name] = np.asarray(image, dtype=np.float32)
            calls.append(lambda s=session, f=feeds[k]: s.run(None, f))
        stats = time_calls(lambda: [c() for c in calls], 'onnxruntime',
                           threads, runs, warmup)
        if best is None or stats.median_ms < best.median_ms:
            best = stats
    best.sessions = max(1, sessions)
    return best


def onnxruntime_device_providers(device: torch.device) -> List[str]:
    """ONNX Runtime's CUDA provider for a CUDA device when this ONNX
    Runtime has it (onnxruntime-gpu); its CPU provider otherwise."""
    from mmprune.deployment.onnx_export import import_onnxruntime
    ort = import_onnxruntime()
    if device.type == 'cuda' and \
            'CUDAExecutionProvider' in ort.get_available_providers():
        return ['CUDAExecutionProvider', 'CPUExecutionProvider']
    return ['CPUExecutionProvider']


def onnxruntime_providers(model: nn.Module) -> List[str]:
    """:func:`onnxruntime_device_providers` of the model's device."""
    return onnxruntime_device_providers(next(model.parameters()).device)


def _onnxruntime_ms(model: nn.Module, input_shape: Tuple[int, int], runs: int,
                    warmup: int) -> LatencyStats:
    """Export ``model`` to a temporary ONNX file (checked against
    PyTorch) and time it in ONNX Runtime."""
    import tempfile

    from mmprune.deployment.onnx_export import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        path = f'{tmp}/model.onnx'
        export_onnx(model, path, input_shape)
        return measure_onnxruntime_latency(
            path,
            runs,
            warmup,
            num_rois=rois_at_test(model),
            providers=onnxruntime_providers(model))


def latency_measure(runtime: str,
                    input_shape: Tuple[int, int],
                    runs: int = 10,
                    warmup: int = 2) -> Callable[[nn.Module], float]:
    """``model -> median latency in ms`` on ``runtime`` (``torch`` or
    ``onnxruntime``): what a ``latency_speed_up`` target steps against."""
    if runtime == 'torch':
        return lambda m: measure_torch_latency(m, input_shape, runs, warmup
                                               ).median_ms
    if runtime == 'onnxruntime':
        return lambda m: _onnxruntime_ms(m, input_shape, runs, warmup
                                         ).median_ms
    raise ValueError(f'latency runtime {runtime!r}: must be torch or '
                     'onnxruntime')


def runtime_latencies(model: nn.Module,
                      input_shape: Tuple[int, int],
                      runs: int = 10,
                      warmup: int = 2) -> dict:
    """Latency of ``model``'s exportable graphs in PyTorch and, exported to
    a temporary ONNX file, in ONNX Runtime: ``{'torch': stats,
    'onnxruntime': stats}`` (:class:`LatencyStats` as dicts). A model that
    does not export gets ``{'error': why}`` for ONNX Runtime instead, so
    that pruning still reports the rest; PyTorch then times the
    tensor-mode forward (said under ``measured``)."""
    try:
        out = dict(
            torch=measure_torch_latency(model, input_shape, runs,
                                        warmup).to_dict())
    except Exception as e:  # noqa: BLE001 - the model has no such graphs
        out = dict(
            torch=dict(
                tensor_mode_latency(model, input_shape, runs,
                                    warmup).to_dict(),
                measured=f'tensor-mode forward: the model does not split into '
                f'export graphs ({type(e).__name__}: {str(e)[:200]})'))
    try:
        out['onnxruntime'] = _onnxruntime_ms(model, input_shape, runs,
                                             warmup).to_dict()
    except Exception as e:  # noqa: BLE001 - reported, never fatal here
        out['onnxruntime'] = dict(error=f'{type(e).__name__}: {e}'[:500])
    return out


def latency_speed_ups(before: dict, after: dict) -> dict:
    """Per runtime, the median latency before over after."""
    return {
        k: before[k]['median_ms'] / after[k]['median_ms']
        for k in before
        if 'median_ms' in before[k] and 'median_ms' in after.get(k, {})
    }


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


def paired_latencies(before: nn.Module,
                     after: nn.Module,
                     input_shape: Tuple[int, int],
                     rounds: int = 3,
                     runs: int = 10,
                     warmup: int = 3) -> dict:
    """Two models (unpruned and pruned) timed in alternation, ``rounds``
    times, in PyTorch and in ONNX Runtime (one fresh session per round).
    Each model's figure is its best round by median and the speed-up is
    their ratio: a machine whose speed drifts over minutes then slows both
    alike instead of whichever was measured during a slow spell."""
    import tempfile

    from mmprune.deployment.onnx_export import export_onnx
    models = (before, after)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = [f'{tmp}/model{i}.onnx' for i in range(2)]
        for m, path in zip(models, paths):
            export_onnx(m, path, input_shape)
        for runtime in ('torch', 'onnxruntime'):
            best: List[Optional[LatencyStats]] = [None, None]
            for _ in range(rounds):
                for i, m in enumerate(models):
                    if runtime == 'torch':
                        stats = measure_torch_latency(m, input_shape, runs,
                                                      warmup)
                    else:
                        stats = measure_onnxruntime_latency(
                            paths[i],
                            runs,
                            warmup,
                            num_rois=rois_at_test(m),
                            sessions=1,
                            providers=onnxruntime_providers(m))
                    if best[i] is None or \
                            stats.median_ms < best[i].median_ms:
                        best[i] = stats
            out[runtime] = dict(
                before=best[0].to_dict(),
                after=best[1].to_dict(),
                speed_up=best[0].median_ms / best[1].median_ms,
                rounds=rounds)
    return out
