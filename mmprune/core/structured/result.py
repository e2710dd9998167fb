"""What a structured prune gives back: the result with its report data,
and the errors for targets that cannot be met."""
from dataclasses import dataclass, field
from typing import List, Optional

from .options import PruningOptions


@dataclass
class StructuredPruningResult:
    method: str
    target: dict
    steps: int = 0
    flops_before: Optional[float] = None
    flops_after: Optional[float] = None
    params_before: int = 0
    params_after: int = 0
    layers: List[dict] = field(default_factory=list)
    # layers whose output channels were kept, each dict(name=, reason=)
    skipped: List[dict] = field(default_factory=list)
    # Torch-Pruning's pruning history as plain data (see pruning_history)
    history: list = field(default_factory=list)
    # whether the target was met; if not, what stopped it
    target_reached: bool = True
    limit: Optional[str] = None
    # measured latency (ms) on the latency target's runtime, when it has one
    latency_before: Optional[float] = None
    latency_after: Optional[float] = None
    # every latency measurement of the stepping: dict(step=, speed_up=),
    # plus confirmed_by= where it met the target and was measured again
    latency_checks: List[dict] = field(default_factory=list)
    # allocation='sensitivity': the chosen layer_ratios, why, and the points
    allocation: Optional[dict] = None
    # round_to='measured': the multiple chosen and the measurements behind it
    round_to_choice: Optional[dict] = None
    # seconds of each phase (phase_clock.PHASES): the sensitivity 'scan'
    # and 'fit', 'layers' (kept layers, widths), 'tracing' (the traced
    # forwards, the tracing forward's choice), 'graph' (dependency graph,
    # pruner),
    # 'importance' (group search, importance, gradients), 'pruning',
    # 'measures' (FLOPs, latency), 'check' (the model check and any
    # roll-back); not in to_dict (reports stay the same from run to run)
    seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(
            method=self.method,
            target=self.target,
            steps=self.steps,
            target_reached=self.target_reached,
            limit=self.limit,
            params_before=self.params_before,
            params_after=self.params_after,
            flops_before=self.flops_before,
            flops_after=self.flops_after,
            speed_up=self.speed_up,
            **({} if self.latency_before is None else dict(
                target_latency_ms_before=self.latency_before,
                target_latency_ms_after=self.latency_after,
                target_latency_speed_up=self.latency_speed_up,
                target_latency_checks=self.latency_checks)),
            **({} if self.allocation is None else dict(
                allocation=self.allocation)),
            **({} if self.round_to_choice is None else dict(
                round_to_choice=self.round_to_choice)),
            layers=self.layers,
            skipped=self.skipped)

    @property
    def latency_speed_up(self) -> Optional[float]:
        if not self.latency_before or not self.latency_after:
            return None
        return self.latency_before / self.latency_after

    def target_line(self) -> str:
        """One line for logs: the target, and whether it was reached."""
        if self.target.get('latency_speed_up') is not None:
            t = (f'target latency_speed_up={self.target["latency_speed_up"]}'
                 f' on {self.target["latency_runtime"]}')
            got = (f'{self.latency_before:.2f} -> {self.latency_after:.2f} '
                   f'ms ({self.latency_speed_up:.2f}x; FLOPs '
                   f'{self.speed_up:.2f}x)'
                   if self.speed_up else f'{self.latency_speed_up:.2f}x')
            unconfirmed = [
                c for c in self.latency_checks
                if c.get('confirmed_by', float('inf')) <
                self.target['latency_speed_up']
            ]
            if unconfirmed:
                got += '; ' + ', '.join(
                    f'{c["speed_up"]:.2f}x at step {c["step"]} not '
                    f'confirmed ({c["confirmed_by"]:.2f}x)'
                    for c in unconfirmed)
            return (f'{t}: reached, {got}' if self.target_reached else
                    f'{t} NOT REACHED: {got}; {self.limit}')
        if self.target.get('speed_up') is None:
            return f'target {self.target}: reached'
        how = self.target.get('allocation', 'uniform')
        t = f'target speed_up={self.target["speed_up"]} ({how} allocation)'
        if self.target_reached:
            return f'{t}: reached ({self.speed_up:.2f}x)'
        return f'{t} NOT REACHED: {self.speed_up:.2f}x; {self.limit}'

    @property
    def protected(self) -> List[str]:
        return sorted(s['name'] for s in self.skipped
                      if s['reason'].startswith('protected'))

    @property
    def speed_up(self) -> Optional[float]:
        if not self.flops_before or not self.flops_after:
            return None
        return self.flops_before / self.flops_after


def stated_target(opts: PruningOptions) -> dict:
    """The target a result reports: ``opts.target`` without
    ``layer_ratios`` (an allocation reports the ratios it chose under
    ``allocation``)."""
    return {k: v for k, v in opts.target.items() if k != 'layer_ratios'}


class TargetNotReachedError(RuntimeError):
    """A ``speed_up`` target was not met and ``strict_target`` is set."""


class NothingToPruneError(ValueError):
    """A target that cannot remove a single channel."""


def unreached_target_limit(opts: PruningOptions,
                           kept: int,
                           what: str = 'FLOPs') -> str:
    """Which limit stopped a speed-up target: every step ran, and the
    last one cut every group to ``max_layer_ratio`` (each keeping at least
    ``round_to`` channels); what remains is in the layers kept whole."""
    advice = ('raise max_layer_ratio' if opts.max_layer_ratio < 1 else
              'prune fewer protected or ignored layers, or lower round_to')
    return (f'all max_steps={opts.max_steps} steps ran, and the last cut '
            f'every prunable group as far as max_layer_ratio='
            f'{opts.max_layer_ratio} and round_to={opts.round_to} allow; what '
            f'remains of the {what} is in the {kept} layers kept whole '
            f'(protected, ignored, frozen or skipped) and in layers without '
            f'channels to prune. To go further: {advice}')
