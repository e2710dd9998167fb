"""Bad input: every case of ``tools/benchmarks/bad_inputs.py`` is a clear
error (its message names the option, file or layer at fault) with nothing
written; the silent cases now say what happened; written files get the
mode ``open()`` would give them."""
import json
import os
import os.path as osp
import runpy
import stat

import pytest
import torch
from conftest import REPO, run_tool

import mmprune  # noqa: F401
from mmprune.core.checkpoint_reader import (CheckpointMismatchError,
                                            check_state_fits)
from mmprune.core.structured import PruningOptions
from mmprune.utils import dump_json_atomic, save_checkpoint_atomic

BAD_INPUTS = runpy.run_path(
    osp.join(REPO, 'tools/benchmarks/bad_inputs.py'), run_name='bad_inputs')
CASES = BAD_INPUTS['CASES']


@pytest.fixture(scope='module')
def fixtures(tmp_path_factory):
    return BAD_INPUTS['make_fixtures'](
        str(tmp_path_factory.mktemp('bad_input_fixtures')))


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_bad_input_is_a_clear_error_and_writes_nothing(case, fixtures,
                                                       tmp_path):
    outcome = BAD_INPUTS['run_case'](case, fixtures, str(tmp_path / 'work'))
    assert outcome.classification.startswith('clear error'), \
        f'{outcome.classification}: {outcome.message}'
    if case.kind:  # these kinds are refused before any work
        assert outcome.classification == 'clear error before work', \
            f'{outcome.seconds} s: {outcome.message}'
    assert not outcome.written


def test_the_case_list_covers_every_tool():
    tools = {c.tool for c in CASES}
    assert {
        'tools/prune.py', 'tools/test.py', 'tools/train.py',
        'tools/analysis_tools/param_breakdown.py', 'tools/inherit_weights.py',
        'tools/model_converters/compress_sparse_checkpoint.py'
    } <= tools
    assert len({c.name for c in CASES}) == len(CASES)
    # each kind of input refused before work, for every tool taking it
    kinds = {(c.kind, c.tool) for c in CASES if c.kind}
    checkpoint_tools = {
        'tools/prune.py', 'tools/test.py', 'tools/train.py',
        'tools/deployment/export_onnx.py', 'tools/inherit_weights.py',
        'tools/model_converters/compress_sparse_checkpoint.py',
        'tools/analysis_tools/prune_sensitivity.py',
        'tools/analysis_tools/latency_breakdown.py'
    }
    assert {('broken weights', t) for t in checkpoint_tools} <= kinds
    assert {
        ('input size', t)
        for t in ('tools/prune.py', 'tools/deployment/export_onnx.py',
                  'tools/analysis_tools/latency_breakdown.py',
                  'tools/analysis_tools/param_breakdown.py', 'tools/train.py')
    } <= kinds
    assert {('nothing to prune', t)
            for t in ('tools/prune.py', 'tools/train.py')} <= kinds
    assert {k for k, _ in kinds} == set(BAD_INPUTS['KINDS'])


def test_unreached_target_is_reported_and_a_pruned_checkpoint_tests(
        fixtures, tmp_path):
    """``--speed-up 1000`` is out of reach: the tool still writes its
    result, but the log and the report say the target was not reached and
    which limit stopped it. Then ``tools/test.py`` with a config that has no
    StructuredPruningHook rebuilds the pruned structure by itself instead of
    evaluating a half-loaded model."""
    out = str(tmp_path / 'pruned')
    proc = run_tool([
        'tools/prune.py', fixtures['cfg'], fixtures['ckpt'], '--speed-up',
        '1000', '--synthetic-batch', '--input-shape', '64', '64', '--out', out
    ])
    log = proc.stdout + proc.stderr
    # without training data the default allocation takes equal steps
    assert 'no training data, so equal steps (uniform)' in log
    assert 'NOT REACHED' in log and 'max_steps=20' in log
    assert 'synthetic 64x64 batch' in log
    report = json.load(open(osp.join(out, 'pruning_results.json')))
    assert report['target_reached'] is False
    assert 'max_layer_ratio=1.0' in report['limit']
    assert report['speed_up'] < 1000
    assert report['events'][0]['target_reached'] is False

    proc = run_tool([
        'tools/test.py', fixtures['cfg'],
        osp.join(out, 'pruned.pth'), '--work-dir',
        str(tmp_path / 'test')
    ])
    log = proc.stdout + proc.stderr
    assert 'carries a pruned structure' in log
    assert 'rebuilt the pruned structure' in log
    assert 'size mismatch' not in log


def test_a_ratio_target_is_reported_reached(fixtures, tmp_path):
    out = str(tmp_path / 'pruned')
    run_tool([
        'tools/prune.py', fixtures['cfg'], fixtures['ckpt'], '--ratio', '0.25',
        '--out', out
    ])
    report = json.load(open(osp.join(out, 'pruning_results.json')))
    assert report['target_reached'] is True and report['limit'] is None
    assert report['traced_on'] == 'train_dataloader'


@pytest.mark.parametrize('umask', [0o022, 0o027])
def test_written_files_get_the_mode_open_would_give(tmp_path, umask):
    old = os.umask(umask)
    try:
        dump_json_atomic({'a': 1}, str(tmp_path / 'r.json'))
        save_checkpoint_atomic({'w': torch.zeros(1)}, str(tmp_path / 'c.pth'))
        with open(tmp_path / 'plain', 'w'):
            pass
    finally:
        os.umask(old)
    want = stat.S_IMODE(os.stat(tmp_path / 'plain').st_mode)
    assert want == 0o666 & ~umask
    for name in ('r.json', 'c.pth'):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == want


def test_a_checkpoint_that_does_not_fit_names_what_differs():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    state = model.state_dict()
    state['0.weight'] = torch.zeros(4, 3, 3, 3)
    del state['1.running_mean']
    state['2.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as e:
        check_state_fits(model, state, 'x.pth', model_desc='the model')
    msg = str(e.value)
    assert 'checkpoint "x.pth" does not fit the model' in msg
    assert '"0.weight": [4, 3, 3, 3] in the checkpoint, [8, 3, 3, 3]' in msg
    assert '"1.running_mean"' in msg and '"2.weight"' in msg
    # extra tensors (a Distiller's adapters) may be allowed
    state = model.state_dict()
    state['distill_losses.neck.weight'] = torch.zeros(1)
    check_state_fits(model, state, 'x.pth', allow_unexpected=True)


@pytest.mark.parametrize('options,message', [
    (dict(ratio=0.3, ratioo=0.2), r"unknown option\(s\) \['ratioo'\]"),
    (dict(ratio=0.3, layer_ratios=[0.2]), 'must be a dict'),
    (dict(ratio=0.3, layer_ratios={'neck': 1.2
                                   }), r"layer_ratios\['neck'\] = 1.2"),
    (dict(ratio=0.3, ignored=[3]), 'is not a pattern'),
    (dict(ratio=True), 'ratio = True'),
    (dict(speed_up=2.0, max_steps=2.5), 'max_steps = 2.5'),
])
def test_pruning_options_are_checked_once_where_they_are_defined(
        options, message):
    with pytest.raises(ValueError, match=message):
        PruningOptions.from_dict(options)
