"""Which channel widths are fast on a runtime: a per-layer latency table,
measured once and cached (``conv_latency_table.py``), and ``round_to``
chosen from it.

A runtime's convolution time is a staircase in the channel count, not a
line: ONNX Runtime's CPU kernels compute in blocks of channels (NCHWc,
16 wide with AVX-512), so a layer with 34 output channels costs what one
with 48 does (measured on a 2-core AVX-512 machine, 64 -> w channels,
3x3 at 40x40: w=32 0.67 ms, w=34..48 0.87-0.98 ms, w=50..64 1.23-1.28
ms). A fixed ``round_to=8`` leaves half of such steps unused: the channels
pruned below a block edge cost FLOPs and accuracy but save no time.

:func:`choose_round_to` times the model's heaviest prunable convolutions
alone, at the input size they see, at every width the pruner might ask
for near a 2x cut, each rounded to each candidate multiple; the
candidate whose kept multiply-adds cost the least time each wins (the
smallest candidate within a tolerance of the best: finer rounding gives
the finer control over accuracy). Measurements are cached in a JSON file
keyed by machine, runtime, threads and layer, so a second pruning run on
the same machine measures nothing again.

Written by hand: neither Torch-Pruning (a fixed ``round_to``) nor mmengine
measures widths on a deployment runtime.
"""
import math
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmprune.datasets.synthetic_batch import synthetic_test_batch
from .conv_latency_table import ConvSpec, WidthLatencyTable
from .latency import onnxruntime_device_providers

# 16 at most: 32 was chosen for YOLOX-s (its time per multiply-add was
# 6% below 16's), and a multiple of 32 halves a 64-channel layer at the
# first step of a target; the 2x FLOPs target overshot to 3.03x
CANDIDATES = (1, 2, 4, 8, 16)
# the widths timed per layer: the 32 below the multiple of 32 above this
# share of its channels, where a 2x FLOPs cut puts them
_WINDOW_SHARE = 0.7
_WINDOW = 32


def prunable_convs(
    model: nn.Module, input_shape: Tuple[int, int], kept: Sequence[str] = ()
) -> List[Tuple[str, ConvSpec, int]]:
    """``(name, spec, multiply-adds)`` of every ``nn.Conv2d`` that runs in
    the tensor-mode forward at ``input_shape`` and whose output channels
    may be pruned (not in ``kept``; grouped but not depthwise ones are
    left out), heaviest first. Forward hooks record each one's input size,
    which a FLOPs count does not give."""
    seen: Dict[str, Tuple[ConvSpec, int]] = {}
    hooks = []
    for name, m in model.named_modules():
        if not isinstance(m, nn.Conv2d) or name in kept:
            continue

        def hook(mod, args, out, name=name):
            h, w = args[0].shape[-2:]
            spec = ConvSpec(mod.in_channels, mod.out_channels,
                            tuple(mod.kernel_size), tuple(mod.stride),
                            tuple(mod.padding), tuple(mod.dilation),
                            mod.groups, int(h), int(w))
            if mod.groups > 1 and not spec.depthwise:
                return
            if name not in seen or spec.macs > seen[name][1]:
                seen[name] = (spec, spec.macs)  # its largest call

        hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        data = synthetic_test_batch(model, *input_shape)
        with torch.no_grad():
            model(data['inputs'], data['data_samples'], mode='tensor')
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return sorted(((n, s, f) for n, (s, f) in seen.items()),
                  key=lambda t: -t[2])


def requested_widths(channels: int) -> List[int]:
    """The widths timed for a layer of ``channels``: the 32 below the
    multiple of 32 above 70% of them (fewer for narrow layers)."""
    hi = min(channels, _WINDOW * math.ceil(_WINDOW_SHARE * channels / _WINDOW))
    lo = max(1, hi - _WINDOW + 1, channels // 4)
    return list(range(lo, hi + 1))


def _rounded(width: int, r: int) -> int:
    return width - width % r


@dataclass
class RoundToChoice:
    """The measured choice of ``round_to`` and what it rests on."""
    round_to: int
    runtime: str
    threads: int
    # candidate -> time per multiply-add kept, relative to the unpruned
    # layers' (weighted by their multiply-adds)
    scores: Dict[int, float]
    layers: List[str]
    measured: int  # convolutions timed now (the rest came from the cache)
    cache: Optional[str]
    tolerance: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d['scores'] = {str(k): round(v, 4) for k, v in self.scores.items()}
        return d

    def line(self) -> str:
        scores = ', '.join(f'{k}: {v:.3f}' for k, v in self.scores.items())
        return (f'round_to={self.round_to}, measured on {self.runtime} '
                f'({self.threads} threads) over {len(self.layers)} '
                f'layers; time per multiply-add kept by candidate, '
                f'relative to the unpruned layers: {scores}')


def layer_scores(spec: ConvSpec, table: WidthLatencyTable,
                 candidates: Sequence[int]) -> Dict[int, float]:
    """Per candidate, the mean time per multiply-add over the requested
    widths rounded down to its multiples (the input channels, pruned by
    the same share, rounded alike; an image input is kept), relative to
    the unpruned layer's. Per multiply-add, not per output channel: a
    coarser rounding also narrows the input, which a per-channel figure
    would count as a gain of the rounding."""
    base = table.ms(spec) / spec.macs
    widths = requested_widths(spec.out_channels)
    scores = {}
    for r in candidates:
        per_mac = []
        for w in widths:
            cout = _rounded(w, r)
            if cout < 1:
                continue
            if spec.depthwise:
                cin = cout
            elif spec.in_channels <= 4:
                cin = spec.in_channels
            else:
                cin = max(
                    r,
                    _rounded(
                        round(w * spec.in_channels / spec.out_channels), r))
                cin = min(cin, spec.in_channels)
            kept = spec.with_widths(cin, cout)
            per_mac.append(table.ms(kept) / kept.macs)
        if per_mac:
            scores[r] = sum(per_mac) / len(per_mac) / base
    return scores


def choose_round_to(model: nn.Module,
                    input_shape: Tuple[int, int],
                    runtime: str = 'onnxruntime',
                    threads: int = 0,
                    kept: Sequence[str] = (),
                    layers: int = 4,
                    candidates: Sequence[int] = CANDIDATES,
                    tolerance: float = 0.03,
                    table: Optional[WidthLatencyTable] = None,
                    progress: bool = True) -> RoundToChoice:
    """``round_to`` for ``model`` on ``runtime``, chosen by measurement:
    the ``layers`` heaviest prunable convolutions (by multiply-adds at
    ``input_shape``; ``kept``: names whose outputs are not pruned), each
    timed alone at the widths a pruner might ask for, and the candidate
    whose kept multiply-adds cost the least time each (the layers weighted
    by their multiply-adds); the smallest candidate within ``tolerance`` of the
    best is chosen."""
    from mmengine.utils import ProgressBar
    table = table or WidthLatencyTable(runtime, threads)
    convs = prunable_convs(model, input_shape, kept)
    # one per distinct layer: repeated blocks time the same convolution
    chosen, keys = [], set()
    for name, spec, macs in convs:
        if spec.key not in keys and spec.out_channels >= 2:
            keys.add(spec.key)
            chosen.append((name, spec, macs))
        if len(chosen) == layers:
            break
    if not chosen:
        raise ValueError('round_to: no prunable convolution to measure '
                         'widths on (set round_to to an integer)')
    total: Dict[int, float] = {}
    weight: Dict[int, float] = {}
    bar = ProgressBar(len(chosen)) if progress else None
    try:
        for _, spec, macs in chosen:
            for r, s in layer_scores(spec, table, candidates).items():
                total[r] = total.get(r, 0.0) + macs * s
                weight[r] = weight.get(r, 0.0) + macs
            if bar is not None:
                bar.update()
    finally:
        table.save()
        if bar is not None:
            bar.file.write('\n')  # as track_iter_progress ends its bar
    # a candidate wider than a layer is scored only on the others: compare
    # candidates on the layers all of them were scored on
    scores = {
        r: total[r] / weight[r]
        for r in sorted(total) if weight[r] == max(weight.values())
    }
    best = min(scores.values())
    pick = min(r for r, s in scores.items() if s <= best * (1 + tolerance))
    return RoundToChoice(pick, runtime, table.threads, scores,
                         [n for n, _, _ in chosen], table.measured,
                         table.cache_path, tolerance)


def round_to_measure(
    runtime: str,
    input_shape: Tuple[int, int],
    threads: int = 0,
    cache_path: Optional[str] = ''
) -> Callable[[nn.Module, Sequence[str]], dict]:
    """``(model, kept layer names) -> dict(round_to=, ...)``: what
    ``prune_model`` calls for ``round_to='measured'`` (the choice is
    logged)."""

    def measure(model: nn.Module, kept: Sequence[str]) -> dict:
        from mmengine.logging import MMLogger

        # widths are timed where the model runs: PyTorch on its GPU, or
        # ONNX Runtime's CUDA provider where installed
        device = next(model.parameters()).device
        if runtime == 'onnxruntime' and device.type == 'cuda' and \
                onnxruntime_device_providers(device)[0] != \
                'CUDAExecutionProvider':
            MMLogger.get_current_instance().warning(
                'ONNX Runtime here has no CUDA provider (install '
                'onnxruntime-gpu): widths for a model on the GPU are timed '
                "on its CPU provider; set latency_runtime='torch' to time "
                'them on the GPU')
        choice = choose_round_to(
            model,
            input_shape,
            runtime,
            kept=kept,
            table=WidthLatencyTable(
                runtime, threads, cache_path, device=device))
        MMLogger.get_current_instance().info(
            f'{choice.line()} ({choice.measured} convolutions timed, the '
            f'rest from {choice.cache})')
        return choice.to_dict()

    return measure
