"""Convolutions timed alone at given widths on a deployment runtime, and
the per-machine cache of those times (see ``width_latency.py`` for what
chooses widths from them)."""
import functools
import json
import os.path as osp
import platform
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn

from mmprune.utils.atomic_io import dump_json_atomic
from mmprune.utils.cache_dir import cache_dir
from mmprune.utils.device import synchronizer
from .latency import onnxruntime_device_providers, time_calls, torch_threads


@dataclass(frozen=True)
class ConvSpec:
    """One convolution as the runtime sees it (batch 1)."""
    in_channels: int
    out_channels: int
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    groups: int
    height: int
    width: int

    @property
    def key(self) -> str:
        return (f'conv{self.in_channels}x{self.out_channels}'
                f'_k{self.kernel[0]}x{self.kernel[1]}'
                f'_s{self.stride[0]}x{self.stride[1]}'
                f'_p{self.padding[0]}x{self.padding[1]}'
                f'_d{self.dilation[0]}x{self.dilation[1]}'
                f'_g{self.groups}_{self.height}x{self.width}')

    def with_widths(self, cin: int, cout: int) -> 'ConvSpec':
        groups = cout if self.depthwise else self.groups
        return ConvSpec(cin, cout, self.kernel, self.stride, self.padding,
                        self.dilation, groups, self.height, self.width)

    @property
    def macs(self) -> int:
        """Multiply-adds (batch 1)."""
        kh, kw = self.kernel
        sh, sw = self.stride
        ph, pw = self.padding
        dh, dw = self.dilation
        oh = (self.height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (self.width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        return max(
            1,
            oh * ow * self.out_channels * (self.in_channels // self.groups) *
            kh * kw)

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels == \
            self.out_channels

    def build(self) -> nn.Conv2d:
        return nn.Conv2d(self.in_channels, self.out_channels, self.kernel,
                         self.stride, self.padding, self.dilation,
                         self.groups).eval()


def machine_key(runtime: str,
                threads: int,
                device: Optional[torch.device] = None) -> str:
    """What a latency depends on besides the layer: the processor (CPU, or
    the GPU and ONNX Runtime's provider on it), library versions, runtime
    and threads."""
    if device is not None and device.type == 'cuda':
        gpu = torch.cuda.get_device_name(device)
        if runtime == 'onnxruntime':
            gpu += '|' + onnxruntime_device_providers(device)[0]
        return (f'{runtime}|{gpu}|torch {torch.__version__}' +
                _ort_version(runtime))
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (f'{runtime}|{threads} threads|{cpu}|torch {torch.__version__}' +
            _ort_version(runtime))


def _ort_version(runtime: str) -> str:
    if runtime != 'onnxruntime':
        return ''
    from mmprune.deployment.onnx_export import import_onnxruntime
    ort = import_onnxruntime()
    return f'+ort{ort.__version__}'


def default_cache_path() -> str:
    """``$MMPRUNE_CACHE_DIR/width_latency.json`` (default
    ``~/.cache/mmprune``)."""
    return cache_dir('width_latency.json')


def time_conv(spec: ConvSpec,
              runtime: str,
              threads: int,
              runs: int = 10,
              device: Optional[torch.device] = None) -> float:
    """Median ms of ``spec`` alone on ``runtime`` (``torch`` or
    ``onnxruntime``) on ``device``, random input, after warm-up; a GPU is
    synchronised around each call."""
    device = device or torch.device('cpu')
    conv = spec.build()
    x = torch.randn(1, spec.in_channels, spec.height, spec.width)
    if runtime == 'torch':
        conv, x = conv.to(device), x.to(device)
        with torch.no_grad(), torch_threads(threads) as n:
            return time_calls(
                lambda: conv(x),
                'torch',
                n,
                runs,
                warmup=3,
                sync=synchronizer(device)).median_ms
    if runtime != 'onnxruntime':
        raise ValueError(f'latency runtime {runtime!r}: must be torch or '
                         'onnxruntime')
    from mmprune.deployment.onnx_export import OPSET, ort_session
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'conv.onnx')
        torch.onnx.export(
            conv, (x, ),
            path,
            dynamo=False,
            opset_version=OPSET,
            input_names=['x'])
        session = ort_session(path, threads,
                              onnxruntime_device_providers(device))
        feed = {'x': x.numpy()}
        return time_calls(
            lambda: session.run(None, feed),
            'onnxruntime',
            threads,
            runs,
            warmup=3).median_ms


class WidthLatencyTable:
    """Measured ms of convolutions at given widths on one runtime, device
    and thread count, cached in a JSON file (``None``: not cached).
    ``time_fn(spec, runtime, threads)`` measures one (default
    :func:`time_conv` on ``device``; tests give a clock)."""

    def __init__(self,
                 runtime: str,
                 threads: int = 0,
                 cache_path: Optional[str] = '',
                 time_fn: Optional[Callable[[ConvSpec, str, int],
                                            float]] = None,
                 device: Optional[torch.device] = None) -> None:
        self.runtime = runtime
        self.threads = threads or torch.get_num_threads()
        self.cache_path = (
            default_cache_path() if cache_path == '' else cache_path)
        self.time_fn = time_fn or functools.partial(time_conv, device=device)
        self.machine = machine_key(runtime, self.threads, device)
        self.measured = 0  # how many this table timed (not cached)
        self._all: Dict[str, Dict[str, float]] = self._read()
        self._dirty = False

    def _read(self) -> Dict[str, Dict[str, float]]:
        if not self.cache_path or not osp.exists(self.cache_path):
            return {}
        try:
            with open(self.cache_path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}  # a damaged cache is measured again, not fatal
        return data if isinstance(data, dict) else {}

    def ms(self, spec: ConvSpec) -> float:
        table = self._all.setdefault(self.machine, {})
        if spec.key not in table:
            table[spec.key] = self.time_fn(spec, self.runtime, self.threads)
            self.measured += 1
            self._dirty = True
        return table[spec.key]

    def save(self) -> None:
        """Write the cache (atomically), merged with what another run
        may have added since it was read."""
        if not self.cache_path or not self._dirty:
            return
        merged = self._read()
        for machine, table in self._all.items():
            merged.setdefault(machine, {}).update(table)
        dump_json_atomic(merged, self.cache_path)
        self._dirty = False
