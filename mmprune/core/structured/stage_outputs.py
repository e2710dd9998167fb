"""The outputs of a model's leading stages on fixed batches, recorded on
the unpruned model and given back to a pruned one wherever its pruning
left them as they were.

A sensitivity trial prunes one block alone and runs the training loss on
the scan's batches. Everything before that block computes what the
unpruned model computed: for a block in the neck or the head, the whole
backbone (RTMDet-s at 640 px: 46% of the forward, the neck a further
25%), for ``backbone.layer3`` of a ResNet its stem and first two stages.

The stages followed are the backbone's blocks (its children, the items of
its module lists) and the neck. A stage's output is known when the stage
is unchanged (every parameter and buffer is the tensor it was:
Torch-Pruning swaps the tensors it prunes) and every tensor it is given
is known: the backbone's input, or a known output not edited in place
since. A known output is given back from the record instead of computed,
call by call in the order recorded, when the call's shapes and other
arguments match it and the stage did not edit its input in place when
recorded (skipping it would skip the edit). The outputs kept are those of
the neck and of blocks made of layers, up to :data:`MAX_BYTES`.
"""
import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional

import torch
import torch.nn as nn

from ..tracing import forwards_replaced

#: what is kept at most, in bytes; calls beyond it compute
MAX_BYTES = 2 * 1024**3

_PLAIN = (int, float, bool, str, type(None))


def _tensors(obj: Any) -> Optional[List[torch.Tensor]]:
    """The tensors of an output made of tensors, tuples, lists and dicts;
    ``None`` when it holds anything else."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, _PLAIN):
        return []
    if isinstance(obj, (tuple, list, dict)):
        found: List[torch.Tensor] = []
        for item in (obj.values() if isinstance(obj, dict) else obj):
            inner = _tensors(item)
            if inner is None:
                return None
            found += inner
        return found
    return None


def _cloned(obj: Any) -> Any:
    """A copy of an output, so that an in-place edit downstream cannot
    reach the record."""
    if isinstance(obj, torch.Tensor):
        return obj.clone()
    if isinstance(obj, dict):
        return type(obj)((k, _cloned(v)) for k, v in obj.items())
    if hasattr(obj, '_fields'):  # a named tuple
        return type(obj)(*(_cloned(v) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_cloned(v) for v in obj)
    return obj


_UNKNOWN = object()


def _sign(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return ('tensor', tuple(obj.shape))
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (tuple, list)):
        signs = tuple(_sign(o) for o in obj)
        return _UNKNOWN if any(s is _UNKNOWN for s in signs) else signs
    return _UNKNOWN


def _signature(args: tuple, kwargs: dict) -> Optional[tuple]:
    """A call's arguments as shapes and plain values; ``None`` when one is
    neither."""
    signs = _sign((args, tuple(sorted(kwargs.items()))))
    return None if signs is _UNKNOWN else signs


class _Stage:
    """A stage: its tensors as they were and, per call, its signature and
    recorded output (``None`` where not kept)."""

    def __init__(self, module: nn.Module, keep: bool) -> None:
        self.module, self.keep = module, keep
        self.tensors = self._now()
        self.calls: List[tuple] = []

    def _now(self) -> List[torch.Tensor]:
        return list(self.module.parameters()) + list(self.module.buffers())

    def unchanged(self) -> bool:
        now = self._now()
        return len(now) == len(self.tensors) and all(
            a is b for a, b in zip(now, self.tensors))


def _blocks(backbone: nn.Module) -> List[nn.Module]:
    """A backbone's blocks: its children, and the items of its module
    lists."""
    blocks = []
    for child in backbone.children():
        if isinstance(child, (nn.ModuleList, nn.ModuleDict)):
            blocks += list(child.children())
        else:
            blocks.append(child)
    return blocks


class StageOutputs:
    """Records, then gives back, the outputs of ``model``'s leading stages
    (see the module's docstring); a model without a ``backbone`` gets
    nothing back."""

    def __init__(self, model: nn.Module, max_bytes: int = MAX_BYTES) -> None:
        self.backbone = getattr(model, 'backbone', None)
        self.stages: List[_Stage] = []
        if isinstance(self.backbone, nn.Module):
            # the backbone's own output is its blocks' (not kept twice)
            self.stages.append(_Stage(self.backbone, keep=False))
            # single layers (a stem convolution, a norm) compute: cheap for
            # the memory their outputs take (ResNet's stem at 800x1333:
            # 137 MB an output per batch of 2)
            self.stages += [
                _Stage(m, keep=any(True for _ in m.children()))
                for m in _blocks(self.backbone)
            ]
            neck = getattr(model, 'neck', None)
            if isinstance(neck, nn.Module):
                self.stages.append(_Stage(neck, keep=True))
        self.max_bytes, self.bytes = max_bytes, 0

    @property
    def recorded(self) -> int:
        """Outputs kept."""
        return sum(1 for s in self.stages for c in s.calls if c[1] is not None)

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Record every call of each stage inside the block (the unpruned
        model, on the batches in the order they will be run again)."""
        handles = []
        for stage in self.stages:
            stage.calls.clear()
            given: list = []

            def before(module, args, kwargs, given=given):
                given[:] = [(t, t._version)
                            for t in _tensors((args, kwargs)) or []]

            def hook(module, args, kwargs, output, stage=stage, given=given):
                signature = _signature(args, kwargs)
                tensors = _tensors(output)
                size = 0 if tensors is None else sum(
                    t.numel() * t.element_size() for t in tensors)
                # a stage that edits its input in place is never given
                # back: skipping it would skip the edit
                edits = any(t._version != v for t, v in given)
                if not stage.keep or edits or signature is None or \
                        tensors is None or \
                        self.bytes + size > self.max_bytes:
                    stage.calls.append((signature, None))
                    return
                self.bytes += size
                stage.calls.append((signature, _cloned(output)))

            handles.append(
                stage.module.register_forward_pre_hook(
                    before, with_kwargs=True))
            handles.append(
                stage.module.register_forward_hook(hook, with_kwargs=True))
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    @contextlib.contextmanager
    def reused(self) -> Iterator[Dict[str, int]]:
        """Inside the block, known outputs with a record are given back
        instead of computed; yields ``dict(reused=, computed=)``, the
        counts of recorded calls given back and computed so far."""
        counts = dict(reused=0, computed=0)
        if not self.stages or not any(c[1] is not None for s in self.stages
                                      for c in s.calls):
            yield counts
            return
        known: Dict[int, tuple] = {}
        with forwards_replaced({
                stage.module:
                self._forward(stage, known, counts)
                for stage in self.stages
        }):
            yield counts

    def _forward(self, stage: _Stage, known: Dict[int, tuple],
                 counts: Dict[str, int]) -> Callable:
        """The stage's forward inside :meth:`reused`."""
        module, calls = stage.module, stage.calls
        unchanged = stage.unchanged()
        compute = module.forward  # its own, or one patched by someone else
        is_backbone = module is self.backbone
        index = [0]

        def mark(output: Any) -> None:
            # with its version: a tensor edited in place since is not known
            for t in _tensors(output) or []:
                known[id(t)] = (t, t._version)

        def is_known_tensor(t: torch.Tensor) -> bool:
            entry = known.get(id(t))
            return entry is not None and entry[0] is t and \
                entry[1] == t._version

        def forward(*args, **kwargs):
            i = index[0]
            index[0] += 1
            if is_backbone:
                known.clear()  # a new forward: its input is the batch's
                mark((args, kwargs))
            given = _tensors((args, kwargs))
            is_known = unchanged and given is not None and all(
                is_known_tensor(t) for t in given)
            record = calls[i] if i < len(calls) else (None, None)
            if is_known and record[1] is not None and \
                    record[0] == _signature(args, kwargs):
                counts['reused'] += 1
                output = _cloned(record[1])
            else:
                counts['computed'] += record[1] is not None
                output = compute(*args, **kwargs)
            if is_known:
                # as recorded, edits of its input included
                mark((args, kwargs))
                mark(output)
            return output

        return forward
