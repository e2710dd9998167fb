"""``StructuredPruningHook`` in the runner and ``tools/prune.py``:
optimizer / EMA / schedulers rebound, the sparse-training phase, iterative
schedules, checkpoints that tools/test.py and --resume reload, a 2-process
run, bad input before any work."""
import json
import os
import os.path as osp

import pytest
import torch
from conftest import (REPO, RTMDET, TINY_LOADERS, YOLOX, assert_evaluated,
                      load_checkpoint, run_tool, run_two_processes,
                      state_shapes)
from mmengine.config import Config
from mmengine.runner import Runner

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.engine import StructuredPruningHook
from mmprune.models.builder import build_model_from


@pytest.mark.parametrize('kwargs,match', [
    (dict(method='l2_norm', ratio=0.5), 'unknown pruning method'),
    (dict(ratio=1.0), r'ratio = 1.0: must be in \[0, 1\)'),
    (dict(ratio=-0.1), r'must be in \[0, 1\)'),
    (dict(speed_up=1.0), 'speed_up = 1.0: must be > 1'),
    (dict(ratio=0.3, speed_up=2.0),
     'exactly one of ratio, speed_up and latency_speed_up'),
    (dict(latency_speed_up=0.9), 'latency_speed_up = 0.9: must be > 1'),
    (dict(latency_speed_up=1.5,
          latency_runtime='tensorrt'), "latency_runtime = 'tensorrt'"),
    (dict(latency_speed_up=1.5, latency_rounds=0), 'latency_rounds = 0'),
    (dict(speed_up=2.0, allocation='sensitivity',
          prune_at=[0, 10]), 'the ratios are chosen for one prune point'),
    (dict(ratio=0.3, allocation='sensitivity'), 'give speed_up'),
    (dict(speed_up=2.0, allocation='greedy'), "allocation = 'greedy'"),
    (dict(speed_up=2.0, sensitivity_ratios=[0.5, 1.0]), 'sensitivity_ratios'),
    (dict(ratio=0.3, layer_ratios={'(': 0.2}), 'layer_ratios'),
    (dict(ratio=0.3, prune_at=[5, 2]), 'prune_at'),
    (dict(ratio=0.3, round_to=0), 'round_to'),
    (dict(ratio=0.3, sparse_training=dict(iters=10)),
     "method 'l1' has no sparse-training phase"),
    (dict(method='slim', ratio=0.3,
          sparse_training=dict(steps=10)), 'unknown keys'),
    (dict(
        method='slim', ratio=0.3, prune_at=[5], sparse_training=dict(
            iters=10)), 'needs 10 iterations before prune point 5'),
])
def test_bad_arguments_fail_when_the_hook_is_built(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StructuredPruningHook(**kwargs)


_TINY = '_base_ = {base!r}\n' + TINY_LOADERS + '''
train_cfg = dict(max_epochs={epochs}, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
         update_buffers=True, priority=49),
    dict(type='mmprune.StructuredPruningHook', {hook}latency_runs=2,
         measure_latency={latency})]
'''


def _write(tmp_path, name, epochs, hook, base=RTMDET, latency=False):
    """A tiny run's config; latency (an ONNX export before and after each
    prune point) only where a test reads it."""
    path = tmp_path / f'{name}.py'
    path.write_text(
        _TINY.format(
            base=base,
            epochs=epochs,
            hook=hook + ', ' if hook else '',
            latency=latency))
    return str(path)


def test_a_pattern_matching_no_layer_fails_before_training(tmp_path):
    cfg = Config.fromfile(
        _write(tmp_path, 'bad', 1, "method='l1', ratio=0.5, "
               "ignored=['no_such_layer']"))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match="ignored: pattern 'no_such_layer'"):
        runner.train()
    assert runner.iter == 0
    assert not [f for f in os.listdir(cfg.work_dir) if f.endswith('.pth')]


def test_pruning_in_the_runner_rebinds_optimizer_ema_and_schedulers(tmp_path):
    cfg = Config.fromfile(
        _write(
            tmp_path,
            'inrun',
            1, "method='group_taylor', ratio=0.5, "
            'prune_at=[1], gradient_batches=2',
            latency=True))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    params = dict(model.named_parameters())
    optimizer = runner.optim_wrapper.optimizer
    in_optimizer = [p for g in optimizer.param_groups for p in g['params']]
    # every parameter the optimizer steps is one of the pruned model's
    assert {id(p) for p in in_optimizer} == {id(p) for p in params.values()}
    assert all(optimizer.state[p]['exp_avg'].shape == p.shape
               for p in in_optimizer if p in optimizer.state)
    assert all(s.optimizer is runner.optim_wrapper
               for s in runner.param_schedulers)
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook'][0]
    assert state_shapes(ema.ema_model.module) == state_shapes(model)
    assert ema.ema_model.avg_parameters['bbox_head.cls_convs.0.0.conv.'
                                        'weight'].shape == \
        params['bbox_head.cls_convs.0.0.conv.weight'].shape
    report = json.load(open(osp.join(cfg.work_dir, 'pruning_results.json')))
    assert report['method'] == 'group_taylor'
    assert report['params_after'] < 0.6 * report['params_before']
    assert report['flops_after'] < report['flops_before']
    assert report['latency_ms_before'] > 0 and report['latency_ms_after'] > 0
    assert report['events'][0]['iter'] == 1
    narrowed = [
        r for r in report['layers'] if r['out_after'] < r['out_before']
    ]
    assert narrowed and all(r['out_after'] % 8 == 0 for r in narrowed)
    reasons = {s['name']: s['reason'] for s in report['skipped']}
    assert 'protected' in reasons['bbox_head.rtm_cls.0']
    assert osp.getsize(osp.join(cfg.work_dir, 'pruning_channels.png')) > 0


def test_an_iterative_latency_target_is_measured_against_the_unpruned(
        tmp_path, monkeypatch):
    """latency_speed_up over two prune points: each reaches its share
    (1.6 ** (k/2)) measured against the unpruned model, not against the
    model as the prune point finds it (a mocked clock: milliseconds
    proportional to the parameters). round_to='measured' takes each
    point's measured multiple (a mocked choice) into the report."""

    def clock(model) -> float:
        return sum(p.numel() for p in model.parameters()) / 1e4

    def choice(model, kept) -> dict:
        return dict(round_to=5, scores={'5': 1.0, '8': 1.1})

    import mmprune.analysis.pruning_meter as meter_module
    monkeypatch.setattr(meter_module, 'latency_measure',
                        lambda *args, **kwargs: clock)
    monkeypatch.setattr(meter_module, 'round_to_measure',
                        lambda *args, **kwargs: choice)
    cfg = Config.fromfile(
        _write(
            tmp_path, 'latency', 1,
            "method='l1', latency_speed_up=1.6, prune_at=[0, 1], "
            "round_to='measured'"))
    cfg.work_dir = str(tmp_path / 'work')
    Runner.from_cfg(cfg).train()
    report = json.load(open(osp.join(cfg.work_dir, 'pruning_results.json')))
    first, second = report['events']
    unpruned_ms = report['params_before'] / 1e4
    assert first['target']['latency_speed_up'] == pytest.approx(1.6**0.5)
    assert second['target']['latency_speed_up'] == pytest.approx(1.6)
    for event in (first, second):
        before, after = event['target_latency_ms']
        assert before == pytest.approx(unpruned_ms)  # the unpruned model
        assert before / after >= event['target']['latency_speed_up']
        assert event['target_reached']
    # the first point stopped at its share, the second went on to the rest
    assert first['target_latency_ms'][1] > second['target_latency_ms'][1]
    assert report['target_reached'] is True
    assert report['round_to'] == 'measured'
    assert first['round_to'] == second['round_to'] == 5
    assert report['round_to_choice']['scores'] == {'5': 1.0, '8': 1.1}
    narrowed = [
        x for x in report['layers'] if x['out_after'] < x['out_before']
    ]
    assert narrowed and all(x['out_after'] % 5 == 0 for x in narrowed)


def test_iterative_sparse_pruning_survives_checkpoints_test_and_resume(
        tmp_path):
    """YOLOX, two sparse-train -> prune -> finetune cycles: the first in
    the first run, the second after --resume from a checkpoint saved
    before it."""
    hook = ("method='slim', speed_up=1.5, prune_at=[1, 4], "
            'sparse_training=dict(iters=1, reg=1e-3)')
    work = str(tmp_path / 'work')
    proc = run_tool([
        'tools/train.py',
        _write(tmp_path, 'it2', 2, hook, YOLOX), '--work-dir', work
    ])
    log = proc.stdout + proc.stderr
    assert 'sparse training (slim' in log
    assert 'pruned at iteration 1' in log
    unpruned = state_shapes(build_model_from(Config.fromfile(YOLOX)))
    first = load_checkpoint(osp.join(work, 'epoch_1.pth'))
    record = first['pruning']
    assert record['done'] == [1] and record['history']
    state = first['state_dict']
    assert any(tuple(v.shape) != unpruned[k] for k, v in state.items())
    assert {k: v.shape for k, v in first['ema_state_dict'].items()
            if k.startswith('module.')} == \
        {'module.' + k: v.shape for k, v in state.items()}

    # the stock test tool rebuilds the pruned model from the same config
    proc = run_tool([
        'tools/test.py',
        _write(tmp_path, 'it2', 2, hook, YOLOX),
        osp.join(work, 'epoch_1.pth'), '--work-dir', work
    ])
    assert 'rebuilt the pruned structure' in proc.stdout + proc.stderr
    assert_evaluated(proc.stdout + proc.stderr, 'mmdet')

    # resume from epoch 2 (before the second prune), into a longer run
    proc = run_tool([
        'tools/train.py',
        _write(tmp_path, 'it3', 3, hook, YOLOX), '--work-dir', work, '--resume'
    ])
    log = proc.stdout + proc.stderr
    assert 'rebuilt the pruned structure' in log
    assert 'pruned at iteration 4' in log
    last = load_checkpoint(osp.join(work, 'epoch_3.pth'))
    assert last['pruning']['done'] == [1, 4]
    n = len(record['history'])
    assert last['pruning']['history'][:n] == record['history']
    report = json.load(open(osp.join(work, 'pruning_results.json')))
    # measured against the unpruned model across the resume
    assert report['params_before'] == sum(
        v.numel() for k, v in build_model_from(Config.fromfile(
            YOLOX)).named_parameters())
    assert report['speed_up'] >= 1.5
    assert [e['iter'] for e in report['events']] == [1, 4]


def test_two_processes_prune_identically(tmp_path):
    """Also distilled from the unpruned self: the adapters rebuilt after
    pruning are in the DDP wrapper rebuilt around the pruned student."""
    # random importance: ranks would disagree if each chose its own
    cfg = _write(tmp_path, 'dist', 1, "method='random', ratio=0.5")
    with open(cfg, 'a') as f:
        f.write("model = dict(_delete_=True, type='mmprune.Distiller', "
                'student={{_base_.model}}, probe_shape=(128, 128), '
                "distill_losses=dict(neck=dict(type='mmprune.PKDLoss', "
                "student='neck')))\n")
    work = str(tmp_path / 'dist')
    log = run_two_processes(cfg, work, '29541')
    assert 'pruned structure identical on all 2 ranks' in log
    assert 'adapters sized for the pruned student: neck' in log
    assert 'loss_distill_neck' in log
    ckpt = load_checkpoint(osp.join(work, 'epoch_1.pth'))
    assert ckpt['pruning']['history'] and 'distill_teacher' in ckpt
    assert 'distill_losses.neck.adapter.weight' in ckpt['state_dict']


def test_offline_prune_tool_then_test_and_finetune(tmp_path):
    cfg_path = _write(tmp_path, 'offline', 1, '')
    cfg = Config.fromfile(cfg_path)
    model = build_model_from(cfg)
    src = str(tmp_path / 'trained.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), src)
    out = str(tmp_path / 'pruned')
    proc = run_tool([
        'tools/prune.py', cfg_path, src, '--method', 'lamp', '--speed-up',
        '1.5', '--round-to', '8', '--out', out, '--no-latency', '--device',
        'cpu'
    ])
    assert 'lamp: params' in proc.stdout
    pruned = load_checkpoint(osp.join(out, 'pruned.pth'))
    assert pruned['pruning']['done'] == [0]
    report = json.load(open(osp.join(out, 'pruning_results.json')))
    assert report['speed_up'] >= 1.5
    # a --speed-up is allocated by sensitivity unless --allocation says
    assert report['target']['allocation'] == 'sensitivity'
    assert report['allocation']['layer_ratios']
    assert 'sensitivity allocation): reached' in proc.stdout + proc.stderr
    assert report['latency_before'] is None  # --no-latency
    assert report['device'] == 'cpu'  # --device cpu
    assert os.path.getsize(src) > os.path.getsize(osp.join(out, 'pruned.pth'))
    # a restore-only hook: test and finetune the pruned checkpoint
    proc = run_tool([
        'tools/test.py', cfg_path,
        osp.join(out, 'pruned.pth'), '--work-dir',
        str(tmp_path / 'w')
    ])
    assert 'rebuilt the pruned structure' in proc.stdout + proc.stderr
    proc = run_tool([
        'tools/train.py', cfg_path, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        f'load_from={osp.join(out, "pruned.pth")}'
    ])
    tuned = load_checkpoint(osp.join(str(tmp_path / 'w'), 'epoch_1.pth'))
    assert {k: v.shape for k, v in tuned['state_dict'].items()} == \
        {k: v.shape for k, v in pruned['state_dict'].items()}
    # bad input (mixed targets, unknown methods, an output over its
    # source, a missing checkpoint, ...) is the bad-input cases' to test


def _pruning_configs():
    root = osp.join(REPO, 'configs/pruning')
    return sorted(
        osp.join(d, f)
        for sub in ('rtmdet', 'segformer', 'yolox', 'oriented_rcnn')
        for d in [osp.join(root, sub)] for f in os.listdir(d)
        if f.endswith('.py') and 'slim-half-flops' not in f)


def test_shipped_pruning_configs_build_their_hooks():
    from mmengine.registry import HOOKS
    configs = _pruning_configs()
    assert len(configs) >= 10 + 10 + 36 + 2
    for path in configs:
        cfg = Config.fromfile(path)
        hooks = [
            h for h in cfg.custom_hooks
            if h['type'] == 'mmprune.StructuredPruningHook'
        ]
        assert len(hooks) == 1, path
        hook = HOOKS.build(hooks[0])
        assert hook.restore_only == ('-scratch_' in path)
        if '_coco' in path or 'ade20k' in path or 'cityscapes' in path:
            # model-zoo configs start from a checkpoint, never download
            assert cfg.load_from.startswith('checkpoints/'), path
            assert cfg.model.backbone.get('init_cfg') is None, path


def test_a_loss_that_diverges_after_a_prune_point_stops_the_run():
    """Said at the iteration it happens, naming the prune point, before a
    checkpoint of NaN weights is saved; before any prune point, and for
    finite losses, the hook stays out of the way."""

    class Runner:
        iter = 41

    hook = StructuredPruningHook(method='l1', ratio=0.3, prune_at=[10])
    nan = dict(loss=torch.tensor(float('nan')))
    hook.after_train_iter(Runner(), 0, outputs=nan)  # not pruned yet
    hook.structure.done.append(10)
    hook.after_train_iter(Runner(), 0, outputs=dict(loss=torch.tensor(1.5)))
    with pytest.raises(
            FloatingPointError,
            match='loss is nan at iteration 42, after the prune '
            'point at 10: training diverged'):
        hook.after_train_iter(Runner(), 0, outputs=nan)


def test_the_sparse_training_penalty_is_removed_after_training():
    """The penalty runs as an optimizer step pre-hook; an optimizer that
    outlives the run (another ``train()`` on it) steps without it."""
    from types import SimpleNamespace
    model = torch.nn.Linear(4, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    runner = SimpleNamespace(
        model=model, optim_wrapper=SimpleNamespace(optimizer=optimizer))
    hook = StructuredPruningHook(
        method='slim', ratio=0.3, prune_at=[5], sparse_training=dict(iters=2))
    hooks = optimizer._optimizer_step_pre_hooks
    hook.before_train(runner)
    assert len(hooks) == 1
    hook.after_train(runner)
    assert len(hooks) == 0
