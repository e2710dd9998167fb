"""A sensitivity allocation's prunes on one traced graph, each undone, with
the backbone's and neck's outputs reused by trials that leave them whole,
and only the points the allocation compares measured: the same points,
ratios and pruned models as prunes of copies, each traced on its own."""
import copy

import pytest
import torch
from conftest import RTMDET, tracing_cfg

import mmprune  # noqa: F401
from mmprune.analysis import module_breakdown
from mmprune.core.structured import PruningOptions, prune_model
from mmprune.core.structured.sensitivity import (SensitivityScan,
                                                 allocate_layer_ratios,
                                                 default_units, mean_loss,
                                                 prune_sensitivity)
from mmprune.core.structured.stepping import prune_uniform
from mmprune.core.structured.trial_pruning import TrialPruning
from mmprune.core.tracing import choose_forward_fn
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


@pytest.fixture(scope='module')
def rtmdet(tmp_path_factory):
    cfg = tracing_cfg(
        RTMDET, tmp_path_factory.mktemp('rtm') / 'data', img_size=128)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    batches = [tracing_batch(cfg, model) for _ in range(2)]
    return model, batches


def _flops(data):
    hw = tuple(data['inputs'].shape[-2:])
    return lambda model: module_breakdown(model, hw).total_flops


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _widths(model):
    return {n: tuple(p.shape) for n, p in model.named_parameters()}


@pytest.mark.parametrize('method', ['group_norm', 'group_taylor'])
def test_trials_on_one_graph_prune_as_copies_do_and_are_undone(rtmdet, method):
    model, batches = rtmdet
    model = copy.deepcopy(model)
    data = batches[0]
    tensors = list(model.parameters()) + list(model.buffers())
    before = _state(model)
    trials = TrialPruning(model, data, choose_forward_fn(model, data))
    units = default_units(model)
    # a taylor criterion runs train-mode forwards (BN statistics) and
    # backward passes (gradients) on the model itself
    for unit in (units[3], units[-1], units[3]):
        opts = PruningOptions(method=method, layer_ratios={unit: 0.5})
        alone = copy.deepcopy(model)
        expected = prune_uniform(alone, data, opts, gradient_data=batches)
        with trials.pruned(opts, gradient_data=batches) as result:
            assert result.history == expected.history
            assert _widths(model) == _widths(alone)
            assert mean_loss(model, batches) == mean_loss(alone, batches)
        assert all(a is b for a, b in zip(
            list(model.parameters()) + list(model.buffers()), tensors))
        after = model.state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items())
        assert all(p.grad is None for p in model.parameters())


def test_a_lazy_scan_measures_only_what_the_allocation_compares(rtmdet):
    model, batches = rtmdet
    flops = _flops(batches[0])
    units = default_units(model)[3:9]
    full = prune_sensitivity(model, batches, flops, units, progress=False)
    scan = SensitivityScan(model, batches, flops, units, progress=False)
    for speed_up in (1.2, 1.4):
        ratios, choices = allocate_layer_ratios(full, speed_up)
        assert allocate_layer_ratios(scan, speed_up) == (ratios, choices)
    used = scan.as_dict()['points']
    assert 0 < scan.measured == len(used) < len(full['points'])
    # each point as the full scan measured it
    by_key = {(p['unit'], p['ratio']): p for p in full['points']}
    for p in used:
        expected = by_key[(p['unit'], p['ratio'])]
        assert p['flops'] == expected['flops']
        assert p['params'] == expected['params']
        assert p['loss'] == pytest.approx(expected['loss'], rel=1e-5)


def test_trials_reuse_the_stages_they_leave_whole(rtmdet):
    model, batches = rtmdet
    scan = SensitivityScan(model, batches, _flops(batches[0]), progress=False)
    outputs = scan.stage_outputs
    # the backbone (its output not kept twice), its five blocks, the neck
    assert [(type(s.module).__name__, s.keep) for s in outputs.stages] == \
        [('CSPNeXt', False)] + [('Sequential', True)] * 5 + \
        [('CSPNeXtPAFPN', True)]
    assert outputs.recorded == 6 * len(batches)
    reused = {}
    for unit in (r'^backbone\.stage2(\.|$)', r'^neck\.out_convs(\.|$)',
                 r'^bbox_head\.cls_convs(\.|$)'):
        opts = PruningOptions(method='l1', layer_ratios={unit: 0.5})
        with scan.trials.pruned(opts, checks=()):
            with outputs.reused() as counts:
                loss = mean_loss(model, batches)
            reused[unit] = counts['reused'] // len(batches)
            # the same loss as the whole forward
            assert loss == pytest.approx(
                mean_loss(model, batches), rel=1e-6, abs=1e-6)
        assert 'forward' not in vars(model.backbone)
        assert 'forward' not in vars(model.backbone.stem)
    # the stem and stage1 before stage2; every block; and the neck too
    assert list(reused.values()) == [2, 5, 6]


class _EditsItsInput(torch.nn.Conv2d):

    def forward(self, x):
        x.add_(1.0)
        return super().forward(x)


class _Backbone(torch.nn.Module):

    def __init__(self, edit: bool) -> None:
        super().__init__()
        # blocks of layers (single layers compute and are not kept)
        self.a = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1))
        self.b = torch.nn.Sequential(
            (_EditsItsInput if edit else torch.nn.Conv2d)(4, 4, 1))
        self.c = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1))
        self.d = torch.nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.a(x)
        z = self.b(y)
        return self.c(y), self.d(z)


class _Neck(torch.nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, feats):
        return feats[0] * self.scale + feats[1]


@pytest.mark.parametrize('edit', [False, True])
def test_a_stage_that_edits_its_input_is_computed(edit):
    from mmprune.core.structured.stage_outputs import StageOutputs
    model = torch.nn.Module()
    model.backbone, model.neck = _Backbone(edit), _Neck()
    x = torch.randn(1, 3, 4, 4)

    def run():
        return model.neck(model.backbone(x))

    outputs = StageOutputs(model)
    with outputs.recording():
        expected = run()
    with outputs.reused() as counts:
        got = run()
    # b's edit of a's output must happen before c takes it
    assert torch.equal(got, expected)
    # given back: a, c and the neck, and b unless it edits its input; d,
    # a single layer, computes (its output known: the neck's input)
    assert counts == dict(reused=3 if edit else 4, computed=0)
    assert outputs.recorded == (3 if edit else 4)


def test_prune_model_with_sensitivity_scans_part_of_the_points(
        rtmdet, tmp_path):
    model, batches = rtmdet
    data = batches[0]
    model = copy.deepcopy(model)
    result = prune_model(
        model,
        data,
        'l1',
        speed_up=1.5,
        flops_fn=_flops(data),
        gradient_data=batches,
        allocation='sensitivity')
    units = default_units(model)
    points = result.allocation['points']
    assert len(units) <= len(points) < 3 * len(units)
    assert result.speed_up == pytest.approx(
        result.allocation['tries'][-1]['speed_up'])
    assert {'scan', 'fit'} <= set(result.seconds)


def test_a_reused_failed_search_is_reported_after_a_reset():
    from torch_pruning.dependency import Group

    from mmprune.core.tp_backend.replay_graph import ReplayGraph
    from mmprune.core.tracing import build_dependency_graph

    class _Two(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 8, 1)
            self.b = torch.nn.Conv2d(8, 8, 1)

        def forward(self, inputs, **kwargs):
            return self.b(self.a(inputs))

    model = _Two()
    graph = build_dependency_graph(
        model,
        dict(inputs=torch.randn(1, 3, 4, 4)),
        forward_fn=lambda m, d: m(**d))
    searched = []

    def fails(module, pruning_fn, idxs):
        searched.append(module)
        graph.failed.setdefault(module, 'no group')
        group = Group()
        group._DG = graph
        return group

    graph._search_group = fails
    replay = ReplayGraph(graph)
    fn = graph.get_pruner_of_module(model.a).prune_out_channels
    for _ in range(2):
        replay.reset()
        assert not graph.failed
        assert len(graph.get_pruning_group(model.a, fn, [0])) == 0
        assert graph.failed == {model.a: 'no group'}
    assert searched == [model.a]  # searched once, reported each time
