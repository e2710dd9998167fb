"""A run that dies loses nothing: ``tools/prune.py`` and a training run
with an iterative pruning schedule killed with SIGKILL while tracing,
while pruning and while writing leave either the previous complete result
or nothing (never a partial file under a result's name), and ``--resume``
reaches the widths of an uninterrupted run."""
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from conftest import REPO, THREADS, TINY_LOADERS

from mmprune.core.checkpoint_reader import read_checkpoint

RTMDET = osp.join(REPO, 'configs/rtmdet/rtmdet_tiny_12e_shapes.py')

# a module the killed runs import (KILL_MODULE_DIR on PYTHONPATH): each kill
# point is a SIGKILL, which no handler sees
KILL_POINTS = r'''
import io, os, signal
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
import mmprune.core.structured.stepping as core


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(point, steps=1):
    """Die while tracing, after ``steps`` pruning steps, or half-way
    through writing the next checkpoint."""
    if point == 'trace':
        def build_pruner(*args, **kwargs):
            die()
        core.build_pruner = build_pruner
    elif point == 'prune':
        step, done = core._prune_step, []
        def prune_step(*args, **kwargs):
            step(*args, **kwargs)
            done.append(1)
            if len(done) == steps:
                die()
        core._prune_step = prune_step
    elif point == 'write':
        save = torch.save
        def half_save(obj, f, *args, **kwargs):
            buf = io.BytesIO()
            save(obj, buf, *args, **kwargs)
            data = buf.getvalue()[:len(buf.getvalue()) // 2]
            if isinstance(f, (str, os.PathLike)):
                with open(f, 'wb') as out:
                    out.write(data)
            else:
                f.write(data)
            die()
        torch.save = half_save


@HOOKS.register_module()
class KillAt(Hook):
    """At iteration ``at``: die there (``where='iteration'``), or arm
    :func:`kill_at` for what follows in it."""
    priority = 'VERY_HIGH'  # before StructuredPruningHook

    def __init__(self, at, where):
        self.at, self.where = at, where

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            die() if self.where == 'iteration' else kill_at(self.where)
'''
# tools/prune.py, killed at KILL_AT (at its second pruning step)
PRUNE_KILLED = ('import os, runpy, sys, kill_points\n'
                "kill_points.kill_at(os.environ['KILL_AT'], steps=2)\n"
                'sys.argv = sys.argv[1:]\n'
                "runpy.run_path(sys.argv[0], run_name='__main__')\n")


@pytest.fixture(scope='module')
def kill_points(tmp_path_factory):
    folder = tmp_path_factory.mktemp('kill_points')
    (folder / 'kill_points.py').write_text(KILL_POINTS)
    return str(folder)


def _run(args, kill_points, kill_at=''):
    """``python ARGS`` from the repository; with ``kill_at``, killed
    there."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=THREADS,
        KILL_AT=kill_at,
        PYTHONPATH=kill_points)
    cmd = [sys.executable] + (['-c', PRUNE_KILLED] if kill_at else []) + args
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _results_are_whole(out: str) -> None:
    """Every result file under its own name is complete."""
    for name in os.listdir(out):
        path = osp.join(out, name)
        if name.endswith('.pth'):
            read_checkpoint(path)  # raises on a partial file
        elif name.endswith('.json'):
            json.load(open(path))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    from mmengine.config import Config

    from mmprune.models.builder import build_model_from
    root = tmp_path_factory.mktemp('kill')
    cfg = root / 'tiny.py'
    cfg.write_text(f'_base_ = {RTMDET!r}\n' + TINY_LOADERS)
    torch.manual_seed(0)
    model = build_model_from(Config.fromfile(str(cfg)))
    ckpt = str(root / 'trained.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    return str(cfg), ckpt


PRUNE = [
    'tools/prune.py', '--speed-up', '2', '--allocation', 'uniform',
    '--no-latency', '--synthetic-batch', '--input-shape', '64', '64'
]


@pytest.fixture(scope='module')
def complete(trained, kill_points, tmp_path_factory):
    """The folder of a complete prune of ``trained``."""
    cfg, ckpt = trained
    out = str(tmp_path_factory.mktemp('complete') / 'out')
    proc = _run(PRUNE[:1] + [cfg, ckpt] + PRUNE[1:] + ['--out', out],
                kill_points)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize('kill_at', ['trace', 'prune', 'write'])
def test_a_killed_prune_leaves_nothing_or_the_earlier_result(
        trained, complete, kill_points, tmp_path, kill_at):
    cfg, ckpt = trained
    args = PRUNE[:1] + [cfg, ckpt] + PRUNE[1:]
    # a first run, killed: nothing under a result's name
    out = str(tmp_path / 'out')
    proc = _run(args + ['--out', out], kill_points, kill_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not osp.exists(osp.join(out, 'pruned.pth'))
    assert not osp.exists(osp.join(out, 'pruning_results.json'))
    # over a complete result, a killed --overwrite: the complete one stays
    shutil.rmtree(out)
    shutil.copytree(complete, out)
    before = open(osp.join(out, 'pruned.pth'), 'rb').read()
    proc = _run(args + ['--out', out, '--overwrite'], kill_points, kill_at)
    assert proc.returncode == -signal.SIGKILL
    assert open(osp.join(out, 'pruned.pth'), 'rb').read() == before
    _results_are_whole(out)
    assert read_checkpoint(ckpt)  # the source is untouched and loads


# 4 images at batch 2: 2 iterations an epoch; prune points at iterations
# 1 and 3 (speed_up 2 in two shares), a checkpoint every epoch
ITERATIVE = TINY_LOADERS + '''
train_cfg = dict(max_epochs=3, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1),
                     logger=dict(interval=1))
custom_hooks = [
    dict(type='mmprune.StructuredPruningHook', method='l1', ratio=0.5,
         prune_at=[1, 3], measure_latency=False),
]
'''


def _train(cfg, work, kill_points, resume=False):
    args = ['tools/train.py', cfg, '--work-dir', work]
    return _run(args + (['--resume'] if resume else []), kill_points)


def _widths(path):
    return {
        k: tuple(v.shape)
        for k, v in read_checkpoint(path)['state_dict'].items()
    }


@pytest.fixture(scope='module')
def iterative(kill_points, tmp_path_factory):
    """The iterative config, and the widths its uninterrupted run ends
    with."""
    root = tmp_path_factory.mktemp('iterative')
    cfg = root / 'iterative.py'
    cfg.write_text(f'_base_ = {RTMDET!r}\n'
                   "custom_imports = dict(imports=['mmprune'], "
                   'allow_failed_imports=False)\n' + ITERATIVE)
    whole = str(root / 'whole')
    proc = _train(str(cfg), whole, kill_points)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = _widths(osp.join(whole, 'epoch_3.pth'))
    assert expected != _widths(osp.join(whole, 'epoch_1.pth'))  # pruned
    return str(cfg), expected


@pytest.mark.parametrize(
    'kill', [(2, 'iteration'), (3, 'prune'), (3, 'write')],
    ids=['between points', 'in a prune point', 'writing a checkpoint'])
def test_a_killed_iterative_run_resumes_to_the_same_widths(
        iterative, kill_points, tmp_path, kill):
    cfg, expected = iterative
    # the same run with a hook that kills it
    killing = osp.join(osp.dirname(cfg), f'killed_{kill[0]}_{kill[1]}.py')
    with open(killing, 'w') as f:
        f.write("_base_ = './iterative.py'\n"
                "custom_imports = dict(imports=['mmprune', 'kill_points'])\n"
                'custom_hooks = _base_.custom_hooks + '
                f"[dict(type='KillAt', at={kill[0]}, where={kill[1]!r})]\n")
    work = str(tmp_path / 'killed')
    proc = _train(killing, work, kill_points)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
    # what last_checkpoint names is complete; a half-written file under
    # another name does not load
    last = open(osp.join(work, 'last_checkpoint')).read().strip()
    read_checkpoint(last)
    proc = _train(cfg, work, kill_points, resume=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _widths(osp.join(work, 'epoch_3.pth')) == expected
