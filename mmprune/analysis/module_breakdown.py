"""Parameters and FLOPs per module of an OpenMMLab model.

Parameters come from ``mmengine.analysis.parameter_count`` and FLOPs from
``mmengine.analysis.FlopAnalyzer`` (one multiply-add counts as one FLOP, the
OpenMMLab convention), on the model's ``mode='tensor'`` forward of one
synthetic image: for a two-stage detector that includes the RoI head on the
RPN's proposals, so its FLOPs depend on how many proposals survive NMS.
"""
import functools
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count

from mmprune.core.tracing import forwards_replaced
from mmprune.datasets.synthetic_batch import synthetic_test_batch


@dataclass
class ModuleBreakdown:
    """Per-module counts; the key ``''`` is the whole model."""
    params: Dict[str, int]
    flops: Dict[str, int]
    order: List[str] = field(default_factory=list)
    input_shape: Tuple[int, int] = (0, 0)

    @property
    def total_params(self) -> int:
        return self.params.get('', 0)

    @property
    def total_flops(self) -> int:
        return self.flops.get('', 0)

    def rows(self, depth: int) -> List[str]:
        """Module names down to ``depth`` dots+1, in model order, that hold
        parameters or FLOPs."""
        return [
            n for n in self.order if n and n.count('.') < depth and (
                self.params.get(n, 0) or self.flops.get(n, 0))
        ]


def module_breakdown(model: nn.Module,
                     input_shape: Optional[Tuple[int, int]] = (1024, 1024),
                     data: Optional[dict] = None) -> ModuleBreakdown:
    """Parameters and FLOPs of every module of ``model``. FLOPs are left
    empty when ``input_shape`` and ``data`` are both None."""
    model.eval()
    params = dict(parameter_count(model))
    flops: Dict[str, int] = {}
    if data is None and input_shape is not None:
        data = synthetic_test_batch(model, *input_shape)
    if data is not None:
        # FlopAnalyzer traces forward(inputs): bind the rest (the way
        # mmdet's get_flops.py does)
        tensor_mode = functools.partial(
            model.forward, data_samples=data['data_samples'], mode='tensor')
        with forwards_replaced({model: tensor_mode}), torch.no_grad():
            analyzer = FlopAnalyzer(model, inputs=(data['inputs'], ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            analyzer.tracer_warnings('none')
            flops = dict(analyzer.by_module())
    order = [n for n, _ in model.named_modules()]
    return ModuleBreakdown(params, flops, order,
                           tuple(input_shape) if input_shape else (0, 0))


def compare_breakdowns(a: ModuleBreakdown, b: ModuleBreakdown) -> List[str]:
    """Module names of ``a`` then those only in ``b``."""
    seen = set(a.order)
    return a.order + [n for n in b.order if n not in seen]
