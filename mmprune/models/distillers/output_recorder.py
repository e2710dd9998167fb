"""Record what named modules output during a forward pass.

A module called several times in one pass (a head shared across FPN
levels) contributes one entry per call; tuple/list/dict outputs (an FPN's
levels) are flattened to their tensors in order. A ModuleList or
ModuleDict (never called itself: per-level heads such as RTMDet's
``rtm_cls``) records the outputs of its members.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn

from mmprune.core.tracing import flatten_tensors


def check_module_names(model: nn.Module, names: Sequence[str],
                       key: str) -> None:
    """Every name must be a submodule of ``model``; the error names the
    config key and lists what is there."""
    modules = dict(model.named_modules())
    for name in names:
        if name not in modules:
            near = [
                n for n in modules
                if n and n.split('.')[0] == name.split('.')[0]
            ][:10]
            raise ValueError(
                f'{key}: "{name}" is not a module of the '
                f'{type(model).__name__} (modules under that prefix: '
                f'{", ".join(near) or "none"})')


class ModuleOutputRecorder:
    """``with recorder: model(...)`` then ``recorder.outputs[name]``."""

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        self.model = model
        self.names = list(dict.fromkeys(names))
        self.outputs: Dict[str, List[torch.Tensor]] = {}
        self._handles = []

    def __enter__(self) -> 'ModuleOutputRecorder':
        self.outputs = {n: [] for n in self.names}
        for name in self.names:
            module = self.model.get_submodule(name)
            members = list(module.children()) if isinstance(
                module, (nn.ModuleList, nn.ModuleDict)) else [module]

            def hook(mod, args, out, name=name):
                self.outputs[name].extend(flatten_tensors(out))

            for m in members:
                self._handles.append(m.register_forward_hook(hook))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
