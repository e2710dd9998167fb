"""round_to chosen from a measured per-layer width latency table (mocked
clocks: the choice, the cache, and prune_model using it), and one real
timing of a convolution in each runtime."""
import json
import math

import pytest
import torch
from conftest import RTMDET, tracing_cfg

import mmprune  # noqa: F401
from mmprune.analysis.conv_latency_table import (ConvSpec, WidthLatencyTable,
                                                 time_conv)
from mmprune.analysis.width_latency import (choose_round_to, layer_scores,
                                            requested_widths)
from mmprune.core.structured import prune_model
from mmprune.core.structured.layers import kept_layers
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


def _blocks(n: int, block: int) -> int:
    return block * math.ceil(n / block)


def staircase(block: int):
    """A runtime that computes in blocks of ``block`` channels, counting
    its calls."""
    calls = []

    def clock(spec: ConvSpec, runtime: str, threads: int) -> float:
        calls.append(spec.key)
        cin = 1 if spec.depthwise else _blocks(spec.in_channels, block)
        return 1e-6 * _blocks(spec.out_channels, block) * cin * \
            spec.macs / (spec.out_channels * (spec.in_channels //
                                              spec.groups))

    clock.calls = calls
    return clock


def linear(spec: ConvSpec, runtime: str, threads: int) -> float:
    return 1e-6 * spec.macs


SPEC = ConvSpec(96, 96, (3, 3), (1, 1), (1, 1), (1, 1), 1, 20, 20)


@pytest.mark.parametrize('clock, expected', [(staircase(16), 16),
                                             (staircase(8), 8), (linear, 1)])
def test_the_rounding_follows_the_runtime_s_blocks(tmp_path, clock, expected):
    table = WidthLatencyTable('onnxruntime', 2, None, clock)
    scores = layer_scores(SPEC, table, (1, 2, 4, 8, 16, 32))
    best = min(scores.values())
    assert min(r for r, s in scores.items() if s <= best * 1.03) == \
        expected
    # blocks of 16 leave multiples of 8 that are not of 16 half-used
    if expected == 16:
        assert scores[8] > 1.1 * scores[16]


def test_requested_widths_sit_where_a_2x_cut_puts_them():
    assert requested_widths(96) == list(range(65, 97))
    assert requested_widths(256) == list(range(161, 193))
    assert requested_widths(24) == list(range(6, 25))


@pytest.fixture(scope='module')
def rtm(tmp_path_factory):
    cfg = tracing_cfg(
        RTMDET, tmp_path_factory.mktemp('rtm') / 'data', img_size=128)
    torch.manual_seed(0)
    return cfg, build_model_from(cfg)


def test_choice_on_a_model_is_cached_per_machine(rtm, tmp_path):
    cfg, model = rtm
    kept, _ = kept_layers(model)
    cache = str(tmp_path / 'width_latency.json')
    clock = staircase(16)
    choice = choose_round_to(
        model, (128, 128),
        'onnxruntime',
        2,
        kept=kept,
        table=WidthLatencyTable('onnxruntime', 2, cache, clock),
        progress=False)
    assert choice.round_to == 16
    assert len(choice.layers) == 4
    assert not set(choice.layers) & set(kept)  # only prunable layers
    assert choice.measured == len(set(clock.calls)) > 0
    data = json.load(open(cache))
    assert sum(len(t) for t in data.values()) == choice.measured
    # a second run on the same machine measures nothing
    again = staircase(16)
    choice2 = choose_round_to(
        model, (128, 128),
        'onnxruntime',
        2,
        kept=kept,
        table=WidthLatencyTable('onnxruntime', 2, cache, again),
        progress=False)
    assert choice2.round_to == 16 and choice2.measured == 0
    assert not again.calls
    # another thread count is another machine: measured again
    other = staircase(16)
    choose_round_to(
        model, (128, 128),
        'onnxruntime',
        1,
        kept=kept,
        table=WidthLatencyTable('onnxruntime', 1, cache, other),
        progress=False)
    assert other.calls
    # a damaged cache is measured again, not fatal
    with open(cache, 'w') as f:
        f.write('{not json')
    damaged = staircase(16)
    assert choose_round_to(
        model, (128, 128),
        'onnxruntime',
        2,
        kept=kept,
        table=WidthLatencyTable('onnxruntime', 2, cache, damaged),
        progress=False).round_to == 16
    assert damaged.calls


def test_prune_model_rounds_to_the_measured_multiple(rtm):
    cfg, _ = rtm
    torch.manual_seed(0)
    model = build_model_from(cfg)
    data = tracing_batch(cfg, model)
    asked = []

    def round_to_fn(m, kept):
        asked.append(list(kept))
        return dict(round_to=16, scores={'8': 1.2, '16': 1.0})

    result = prune_model(
        model,
        data,
        'l1',
        ratio=0.3,
        round_to='measured',
        round_to_fn=round_to_fn)
    assert result.round_to_choice['round_to'] == 16
    assert 'backbone.stem.0.conv' in asked[0]  # the kept layers are given
    narrowed = [x for x in result.layers if x['out_after'] < x['out_before']]
    assert narrowed
    for x in narrowed:
        assert x['out_after'] % 16 == 0, x
    assert result.to_dict()['round_to_choice']['round_to'] == 16


@pytest.mark.parametrize('runtime', ['torch', 'onnxruntime'])
def test_one_convolution_is_timed_on_each_runtime(runtime):
    ms = time_conv(
        ConvSpec(8, 16, (3, 3), (1, 1), (1, 1), (1, 1), 1, 16, 16),
        runtime,
        1,
        runs=3)
    assert 0 < ms < 1000


def test_widths_are_timed_on_the_model_s_device(rtm, tmp_path, monkeypatch):
    """``round_to_measure`` times widths where the model is (the CPU here;
    a CUDA model's device goes the same way) and keys the cache by it."""
    import mmprune.analysis.conv_latency_table as table
    import mmprune.analysis.width_latency as wl
    seen = []

    def clock(spec, runtime, threads, runs=10, device=None):
        seen.append(device)
        return spec.macs / 1e6

    monkeypatch.setattr(table, 'time_conv', clock)
    measure = wl.round_to_measure(
        'torch', (64, 64), cache_path=str(tmp_path / 'c.json'))
    choice = measure(rtm[1], [])
    assert choice['round_to'] in wl.CANDIDATES
    assert seen and all(d == torch.device('cpu') for d in seen)
    assert table.machine_key('torch', 1, torch.device('cpu')) == \
        table.machine_key('torch', 1)
