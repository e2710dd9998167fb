"""tools/prune.py's flags named after PruningOptions' fields take their
defaults and choices from it: the tool, the hook and prune_model cannot
drift apart."""
import dataclasses
import importlib.util
import os.path as osp

from conftest import REPO

from mmprune.core.structured import PruningOptions
from mmprune.core.structured.options import ALLOCATIONS, LATENCY_RUNTIMES


def _prune_tool():
    spec = importlib.util.spec_from_file_location(
        'prune_tool', osp.join(REPO, 'tools', 'prune.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_tool_defaults_are_the_options_defaults():
    tool = _prune_tool()
    args = vars(tool.parse_args(['cfg.py', 'ckpt.pth', '--ratio', '0.3']))
    shared = [
        f.name for f in dataclasses.fields(PruningOptions)
        if f.name in args and f.name not in ('ratio', 'speed_up',
                                             'latency_speed_up')
    ]
    # every option a user tunes from the command line
    assert {
        'method', 'latency_runtime', 'latency_rounds', 'allocation',
        'sensitivity_ratios', 'round_to', 'max_layer_ratio', 'max_steps',
        'ignored', 'gradient_batches', 'prune_stem', 'global_pruning',
        'strict_target', 'importance'
    } <= set(shared)
    # the declared defaults (an instance resolves allocation='auto')
    differ = {
        name: (args[name], PruningOptions.default(name))
        for name in shared if args[name] != PruningOptions.default(name)
    }
    assert not differ, f'--help defaults differ from PruningOptions: {differ}'


def test_prune_tool_choices_are_the_options_choices():
    actions = {a.dest: a for a in _prune_tool().build_parser()._actions}
    assert tuple(actions['allocation'].choices) == ALLOCATIONS
    assert tuple(actions['latency_runtime'].choices) == LATENCY_RUNTIMES
