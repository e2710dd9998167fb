"""``pruning_results.json``: what structured pruning did to a model, as
one dataclass that ``StructuredPruningHook`` and ``tools/prune.py`` both
fill and write (and checkpoints carry, so a resumed run measures what is
left of its target against the unpruned model)."""
import dataclasses
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

import torch.nn as nn

from mmprune.core.structured.layers import layer_changes
from mmprune.core.structured.result import StructuredPruningResult
from mmprune.utils import dump_json_atomic
from .channel_plot import plot_layer_channels
from .latency import (latency_line, latency_speed_ups, paired_latencies,
                      runtime_latencies)

REPORT_FILE = 'pruning_results.json'
PLOT_FILE = 'pruning_channels.png'


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class PruningReport:
    """The unpruned model, every prune point, and the model now.

    ``latency_*`` hold per-runtime stats (``torch``, ``onnxruntime``) or
    None when not measured; ``events`` one entry per prune point with its
    target and whether it was reached."""
    config: str
    method: str
    target: dict
    # an integer, or 'measured' (the choice: round_to_choice)
    round_to: Optional[Union[int, str]]
    input_shape: List[int]
    params_before: int
    flops_before: float
    device: str = 'cpu'
    # offline pruning: the source checkpoint, and what the graph was
    # traced on (train_dataloader or a synthetic batch)
    checkpoint: Optional[str] = None
    traced_on: Optional[str] = None
    # pruning in a training run: the schedule
    prune_at: Optional[List[int]] = None
    sparse_training: Optional[dict] = None
    latency_before: Optional[dict] = None
    events: List[dict] = field(default_factory=list)
    params_after: Optional[int] = None
    flops_after: Optional[float] = None
    layers: List[dict] = field(default_factory=list)
    skipped: List[dict] = field(default_factory=list)
    target_reached: Optional[bool] = None
    # what stopped the last prune point short of its target
    limit: Optional[str] = None
    allocation: Optional[dict] = None
    latency_after: Optional[dict] = None
    # the before and after latency timed in alternation, this many rounds
    # (best of each); None: measured apart, before and after pruning
    latency_rounds: Optional[int] = None
    # round_to='measured': the last prune point's choice and its scores
    round_to_choice: Optional[dict] = None

    @classmethod
    def start(cls, model: nn.Module, input_shape: Tuple[int,
                                                        int], flops: float,
              latency: Optional[dict], **info) -> 'PruningReport':
        """The report of the unpruned ``model`` (``info``: the other
        fields known before pruning)."""
        return cls(
            input_shape=list(input_shape),
            params_before=count_params(model),
            flops_before=flops,
            latency_before=latency,
            **info)

    def add_prune_point(self, iteration: int, target: dict,
                        result: StructuredPruningResult, model: nn.Module,
                        widths_before: dict, flops: float,
                        latency: Optional[dict]) -> None:
        """Record prune point ``iteration`` and the model after it (whether
        the whole target is met is the caller's to set in
        ``target_reached``: it depends on the schedule)."""
        self.params_after = count_params(model)
        self.flops_after = flops
        self.layers = layer_changes(model, widths_before)
        self.skipped = result.skipped
        self.limit = result.limit
        self.events.append(
            dict(
                iter=iteration,
                target=target,
                steps=result.steps,
                target_reached=result.target_reached,
                limit=result.limit,
                params=self.params_after,
                flops=flops,
                target_latency_ms=[
                    result.latency_before, result.latency_after
                ],
                **({} if result.round_to_choice is None else dict(
                    round_to=result.round_to_choice['round_to']))))
        if result.round_to_choice is not None:
            self.round_to_choice = result.round_to_choice
        if result.allocation:
            self.allocation = result.allocation
        self.latency_after = latency

    def paired_latency_after(self,
                             reference: nn.Module,
                             model: nn.Module,
                             rounds: int,
                             runs: int = 10) -> dict:
        """``model``'s latency per runtime, timed in alternation with the
        unpruned ``reference`` (``rounds`` rounds, best of each); the
        report's before becomes the reference's figure of the same
        rounds. Timed minutes apart, the two had given RTMDet-tiny 1.52x
        in ONNX Runtime where the paired measurement gave 2.17x for the
        same model on the same machine. A model whose graphs do not
        export is timed alone, each runtime with its reason."""
        shape = tuple(self.input_shape)
        try:
            pairs = paired_latencies(
                reference, model, shape, rounds=rounds, runs=runs)
        except Exception:  # noqa: BLE001 - timed alone, with the reason
            if self.latency_before is None:
                self.latency_before = runtime_latencies(
                    reference, shape, runs=runs)
            return runtime_latencies(model, shape, runs=runs)
        self.latency_before = {rt: pairs[rt]['before'] for rt in pairs}
        self.latency_rounds = rounds
        return {rt: pairs[rt]['after'] for rt in pairs}

    @property
    def speed_up(self) -> Optional[float]:
        if not self.flops_after:
            return None
        return self.flops_before / self.flops_after

    @property
    def latency_speed_ups(self) -> Optional[dict]:
        if not self.latency_before or not self.latency_after:
            return None
        return latency_speed_ups(self.latency_before, self.latency_after)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        ups = self.latency_speed_ups
        d.update(
            speed_up=self.speed_up,
            latency_ms_before=_torch_ms(self.latency_before),
            latency_ms_after=_torch_ms(self.latency_after),
            latency_speed_ups=ups,
            latency_speed_up=ups and ups.get('torch'))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'PruningReport':
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self, what: str) -> str:
        """One log line: params, FLOPs, latency, layers narrowed and
        kept."""
        lat = (
            latency_line(self.latency_before, self.latency_after)
            if self.latency_before and self.latency_after else 'not measured')
        narrowed = sum(1 for x in self.layers
                       if x['out_after'] < x['out_before'])
        h, w = self.input_shape
        return (f'{what}: params {self.params_before / 1e6:.3f}M -> '
                f'{self.params_after / 1e6:.3f}M, FLOPs '
                f'{self.flops_before / 1e9:.3f}G -> '
                f'{self.flops_after / 1e9:.3f}G ({self.speed_up:.2f}x) at '
                f'{h}x{w}, latency {lat}, {narrowed} layers narrowed, '
                f'{len(self.skipped)} kept (see skipped in the report)')

    def write(self, out_dir: str) -> str:
        """``pruning_results.json`` and ``pruning_channels.png`` in
        ``out_dir``, atomically; returns the JSON's path."""
        out = osp.join(out_dir, REPORT_FILE)
        dump_json_atomic(self.to_dict(), out)
        plot_layer_channels(
            self.layers,
            osp.join(out_dir, PLOT_FILE),
            title=f'{self.method}: {self.speed_up:.2f}x fewer FLOPs')
        return out


def _torch_ms(latency: Optional[dict]) -> Optional[float]:
    return latency and latency.get('torch', {}).get('median_ms')
