"""The sensitivity scan's cost: its points are kept on disk and read back
for the same weights and batches (a second target scans nothing, a scan
that died resumes), and a trial is checked by the runs that measure it,
the whole model check coming in only when those fail."""
import json
import os

import torch
from conftest import ORCNN, RTMDET, tracing_cfg
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor

import mmprune  # noqa: F401
import mmprune.core.structured.trial_pruning as trial_pruning
from mmprune.analysis import module_breakdown
from mmprune.core.layer_pruners import register_layer_pruner
from mmprune.core.structured import prune_model
from mmprune.core.structured.model_check import CHECKS
from mmprune.core.structured.sensitivity import (default_units,
                                                 prune_sensitivity)
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from
from mmprune.models.pruning_support import RoIExtractorPruner


def _flops(data):
    hw = tuple(data['inputs'].shape[-2:])
    return lambda model: module_breakdown(model, hw).total_flops


def _counting(monkeypatch):
    """Count the trials' prunes, with the checks each ran."""
    calls = []
    real = trial_pruning.prune_uniform

    def prune_uniform(*args, **kwargs):
        calls.append(tuple(kwargs.get('checks', CHECKS)))
        return real(*args, **kwargs)

    monkeypatch.setattr(trial_pruning, 'prune_uniform', prune_uniform)
    return calls


def _rtmdet(tmp_path):
    cfg = tracing_cfg(RTMDET, tmp_path / 'data', img_size=128)
    torch.manual_seed(0)
    model = build_model_from(cfg)
    return cfg, model, tracing_batch(cfg, model)


def test_a_second_scan_reads_its_points_and_a_longer_one_resumes(
        tmp_path, monkeypatch):
    cfg, model, data = _rtmdet(tmp_path)
    units = default_units(model)[3:5]
    cache = str(tmp_path / 'scans')
    calls = _counting(monkeypatch)

    def scan(ratios, m=model):
        return prune_sensitivity(
            m, [data],
            _flops(data),
            units,
            ratios=ratios,
            progress=False,
            cache_dir=cache)

    first = scan((0.5, ))
    assert len(calls) == 2
    # measuring ran every trial: none needed the whole model check
    assert all(c == () for c in calls)
    files = os.listdir(cache)
    assert len(files) == 1
    with open(os.path.join(cache, files[0])) as f:
        assert len(json.load(f)['points']) == 2
    # the same weights, batches and settings: nothing pruned again
    again = scan((0.5, ))
    assert len(calls) == 2
    assert again['points'] == first['points']
    # more ratios: only the new points are measured
    longer = scan((0.25, 0.5))
    assert len(calls) == 4
    assert [p for p in longer['points'] if p['ratio'] == 0.5] == \
        first['points']
    # other weights are another scan
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    scan((0.5, ))
    assert len(calls) == 6
    assert len(os.listdir(cache)) == 2


def test_prune_model_reuses_the_scan_for_a_second_target(
        tmp_path, monkeypatch):
    cfg, model, data = _rtmdet(tmp_path)
    calls = _counting(monkeypatch)
    cache = str(tmp_path / 'scans')

    def prune(speed_up):
        return prune_model(
            copy_of(model),
            data,
            'l1',
            speed_up=speed_up,
            flops_fn=_flops(data),
            allocation='sensitivity',
            sensitivity_ratios=[0.5],
            sensitivity_cache=cache)

    def copy_of(m):
        import copy
        return copy.deepcopy(m)

    first = prune(1.2)
    scanned = sum(1 for c in calls if c == ())
    assert scanned == len(default_units(model))
    second = prune(1.4)
    assert sum(1 for c in calls if c == ()) == scanned  # no trial again
    assert second.allocation['points'] == first.allocation['points']
    assert second.speed_up > first.speed_up


class _ForgetfulRoIExtractorPruner(RoIExtractorPruner):
    """Deliberately broken: forgets to narrow the extractor, whose output
    buffer then has the old FPN width."""

    def prune_out_channels(self, layer, idxs):
        return layer

    prune_in_channels = prune_out_channels


def test_a_trial_whose_measurement_fails_is_checked_and_rolled_back(
        tmp_path, monkeypatch):
    cfg = tracing_cfg(ORCNN, tmp_path / 'data')
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    calls = _counting(monkeypatch)
    register_layer_pruner(
        BaseRoIExtractor, force=True)(
            _ForgetfulRoIExtractorPruner)
    try:
        points = prune_sensitivity(
            model, [data],
            _flops(data), [r'^neck\.fpn_convs(\.|$)'],
            ratios=(0.5, ),
            progress=False)['points']
    finally:
        register_layer_pruner(BaseRoIExtractor, force=True)(RoIExtractorPruner)
    # unchecked first; its loss failed, so pruned again with the check
    assert calls == [(), CHECKS]
    # every group of the unit broke the model: the point saves nothing
    # and says why, and the scan goes on
    (point, ) = points
    assert point['flops_saved'] == 0 and point['loss_increase'] == 0
    assert 'broke the model' in point['kept'][0]['reason']
    assert point['kept'][0]['name'] == 'neck.fpn_convs'
