"""The tracing forward chosen on the dependency graph's own trace."""
import pytest
import torch
import torch.nn as nn
from conftest import ORCNN, RTMDET, tracing_cfg
from mmcv.ops import DeformConv2d
from mmengine.model import BaseModel

import mmprune  # noqa: F401  (the layer pruners, DeformConv2d's included)
from mmprune.core.tracing import (choose_forward_fn, tensor_forward,
                                  trace_dependency_graph,
                                  training_loss_forward)
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


class _Deformable(BaseModel):
    """A stem, a convolution, a deformable convolution whose offsets come
    from a layer of their own (read by the opaque layer besides its
    input), and a head that reads ``extra`` only in the loss when
    ``loss_only_extra``."""

    def __init__(self, loss_only_extra: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.mid = nn.Conv2d(8, 8, 3, padding=1)
        self.offsets = nn.Conv2d(8, 18, 3, padding=1)
        self.deform = DeformConv2d(8, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 2, 1)
        self.extra = nn.Conv2d(8, 2, 1)
        self.loss_only_extra = loss_only_extra

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.mid(self.stem(inputs))
        x = self.deform(x, self.offsets(x))
        outs = [self.head(x)]
        extra = self.extra(x)
        if mode == 'loss':
            return dict(loss=sum(o.sum() for o in outs) + extra.sum())
        if not self.loss_only_extra:
            outs.append(extra)
        return outs


def _data() -> dict:
    return dict(inputs=torch.randn(1, 3, 16, 16), data_samples=None)


def _count_calls(layer: nn.Module) -> list:
    calls = []
    layer.register_forward_hook(lambda *args: calls.append(1))
    return calls


def test_a_tensor_trace_is_its_own_reach_test():
    torch.manual_seed(0)
    model = _Deformable()
    # the offsets' layer feeds the output only through the opaque layer
    assert choose_forward_fn(model, _data()) is tensor_forward
    calls = _count_calls(model.stem)
    graph, forward_fn = trace_dependency_graph(model, _data())
    assert forward_fn is tensor_forward
    assert len(calls) == 1  # one forward: the trace
    assert {model.stem, model.deform, model.head} <= set(graph.module2node)


class _FrozenStem(_Deformable):
    """Freezes its stem in train() and eval(), as mmdet's ResNet does its
    ``frozen_stages``."""

    def train(self, mode: bool = True):
        super().train(mode)
        self.stem.requires_grad_(False)
        return self


def test_a_stage_the_model_freezes_is_left_out_of_the_verdict():
    torch.manual_seed(0)
    model = _FrozenStem()
    assert choose_forward_fn(model, _data()) is tensor_forward
    calls = _count_calls(model.stem)
    graph, forward_fn = trace_dependency_graph(model, _data())
    assert forward_fn is tensor_forward
    # no loss forward and no second trace for the frozen stem
    assert len(calls) == 1
    assert model.stem not in graph.module2node  # out of either graph


def test_a_layer_only_the_loss_reads_sends_the_trace_to_the_loss():
    torch.manual_seed(0)
    model = _Deformable(loss_only_extra=True)
    assert choose_forward_fn(model, _data()) is training_loss_forward
    graph, forward_fn = trace_dependency_graph(model, _data())
    assert forward_fn is training_loss_forward
    assert model.extra in graph.module2node


@pytest.mark.parametrize('config,expected', [(RTMDET, tensor_forward),
                                             (ORCNN, training_loss_forward)])
def test_the_choice_is_choose_forward_fns_on_model_zoo_configs(
        tmp_path, config, expected):
    # RTMDet-tiny reaches every layer in tensor mode; Oriented R-CNN's RoI
    # extractor asks for the training forward
    cfg = tracing_cfg(config, tmp_path / 'data', img_size=128)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    assert choose_forward_fn(model, data) is expected
    assert trace_dependency_graph(model, data)[1] is expected
