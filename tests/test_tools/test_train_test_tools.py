"""tools/train.py and tools/test.py on tiny variants of the three baseline
configs: a two-iteration train, a test, a resume; a 2-process CPU run; bad
input."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from conftest import TINY_LOADERS as _TINY_LOADERS
from conftest import assert_evaluated, run_tool, run_two_processes

import mmprune  # noqa: F401  (allow-lists mmengine checkpoint types)

TINY = {
    'mmdet': ('configs/rtmdet/rtmdet_tiny_12e_shapes.py', '''
train_cfg = dict(max_epochs={epochs}, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
'''),
    'mmrotate': ('configs/oriented_rcnn/'
                 'oriented-rcnn-le90_r18_fpn_4e_shapes.py', '''
train_cfg = dict(max_epochs={epochs}, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
'''),
    'mmseg':
    ('configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py', '''
train_cfg = dict(max_iters={iters}, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
'''),
}


def tiny_config(tmp_path, lib: str, length: int) -> str:
    base, extra = TINY[lib]
    text = (f'_base_ = {osp.join(REPO, base)!r}\n' + _TINY_LOADERS +
            extra.format(epochs=length, iters=2 * length))
    path = tmp_path / f'tiny_{lib}_{length}.py'
    path.write_text(text)
    return str(path)


def _ckpt_iter(path: str) -> int:
    return torch.load(path, weights_only=True)['meta']['iter']


@pytest.mark.parametrize('lib', ['mmdet', 'mmrotate', 'mmseg'])
def test_train_test_resume(tmp_path, lib):
    work = str(tmp_path / 'work')
    run_tool(
        ['tools/train.py',
         tiny_config(tmp_path, lib, 1), '--work-dir', work])
    first = osp.join(work, 'iter_2.pth' if lib == 'mmseg' else 'epoch_1.pth')
    assert _ckpt_iter(first) == 2

    # test: metrics printed, --out pickle written, --show-dir drawn
    out = str(tmp_path / 'preds.pkl')
    proc = run_tool([
        'tools/test.py',
        tiny_config(tmp_path, lib, 1), first, '--work-dir', work, '--out', out,
        '--show-dir', 'vis'
    ])
    assert_evaluated(proc.stdout + proc.stderr, lib)
    with open(out, 'rb') as f:
        assert len(pickle.load(f)) == 2
    drawn = [f for _, _, fs in os.walk(work) for f in fs if f.endswith('.png')]
    assert drawn, 'no visualisation written for --show-dir'

    # resume: a longer schedule picks up from the last checkpoint
    proc = run_tool([
        'tools/train.py',
        tiny_config(tmp_path, lib, 2), '--work-dir', work, '--resume'
    ])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    last = osp.join(work, 'iter_4.pth' if lib == 'mmseg' else 'epoch_2.pth')
    assert _ckpt_iter(last) == 4


def test_two_process_cpu_run(tmp_path):
    cfg = tiny_config(tmp_path, 'mmdet', 1)
    work = str(tmp_path / 'dist')
    log = run_two_processes(cfg, work, '29533')
    assert 'Distributed launcher: pytorch' in log or 'world_size: 2' in log
    # 4 images, 2 ranks, batch 1: two iterations per rank
    assert _ckpt_iter(osp.join(work, 'epoch_1.pth')) == 2
    out = str(tmp_path / 'preds.pkl')
    env = dict(
        os.environ, PYTHON=sys.executable, PORT='29533', OMP_NUM_THREADS='1')
    proc = subprocess.run([
        'bash', 'tools/dist_test.sh', cfg,
        osp.join(work, 'epoch_1.pth'), '2', '--work-dir', work, '--out', out
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert_evaluated(proc.stdout + proc.stderr, 'mmdet')
    with open(out, 'rb') as f:  # one image per rank, gathered
        assert len(pickle.load(f)) == 2


def test_unknown_mmprune_type_is_a_clear_error(tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f'_base_ = {tiny_config(tmp_path, "mmdet", 1)!r}\n'
                   "custom_hooks = [dict(type='mmprune.NoSuchHook')]\n")
    proc = run_tool(
        ['tools/train.py',
         str(cfg), '--work-dir',
         str(tmp_path / 'w')],
        check=False)
    assert proc.returncode != 0
    assert 'config key "custom_hooks[0].type": unknown type ' \
           '"mmprune.NoSuchHook"' in proc.stderr
    assert 'ShapesCocoDataset' in proc.stderr  # lists what exists
    assert not os.path.exists(tmp_path / 'w')  # failed before any work


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    proc = run_tool([
        'tools/test.py',
        tiny_config(tmp_path, 'mmdet', 1),
        str(tmp_path / 'nope.pth')
    ],
                    check=False)
    assert proc.returncode != 0
    assert f'checkpoint not found: {tmp_path / "nope.pth"}' in proc.stderr


def test_config_pointing_at_a_foreign_folder(tmp_path):
    foreign = tmp_path / 'my_photos'
    foreign.mkdir()
    (foreign / 'a.png').write_bytes(b'x')
    cfg = tmp_path / 'foreign.py'
    cfg.write_text(f'_base_ = {tiny_config(tmp_path, "mmdet", 1)!r}\n'
                   f'train_dataloader = dict(dataset=dict('
                   f'data_root={str(foreign)!r}))\n')
    proc = run_tool(
        ['tools/train.py',
         str(cfg), '--work-dir',
         str(tmp_path / 'w')],
        check=False)
    assert proc.returncode != 0
    assert 'is not a shapes dataset' in proc.stderr
    assert str(foreign) in proc.stderr


def test_prune_sensitivity_tool_writes_points_curves_and_allocation(tmp_path):
    import json

    from mmengine.config import Config

    from mmprune.models.builder import build_model_from
    cfg = tiny_config(tmp_path, 'mmdet', 1)
    src = str(tmp_path / 'trained.pth')
    torch.save(
        dict(
            state_dict=build_model_from(Config.fromfile(cfg)).state_dict(),
            meta={}), src)
    out = str(tmp_path / 'sens')
    units = [r'^backbone\.stage4', r'^bbox_head\.cls_convs']
    proc = run_tool([
        'tools/analysis_tools/prune_sensitivity.py', cfg, src, '--units',
        *units, '--sensitivity-ratios', '0.25', '0.5', '--gradient-batches',
        '1', '--speed-up', '1.1', '--out', out
    ])
    result = json.load(open(osp.join(out, 'prune_sensitivity.json')))
    assert [(p['unit'], p['ratio']) for p in result['points']
            ] == [(u, r) for u in units for r in (0.25, 0.5)]
    for u in units:  # a larger ratio saves more
        saved = [p['flops_saved'] for p in result['points'] if p['unit'] == u]
        assert 0 < saved[0] < saved[1]
    alloc = result['allocation']
    assert set(alloc['layer_ratios']) <= set(units) and alloc['choices']
    assert alloc['target_reached'] == (alloc['measured_speed_up'] >= 1.1)
    assert osp.getsize(osp.join(out, 'prune_sensitivity.png')) > 0
    assert 'allocation for 1.1x' in proc.stdout + proc.stderr
    # bad input before any file is read
    bad = run_tool([
        'tools/analysis_tools/prune_sensitivity.py', cfg,
        str(tmp_path / 'none.pth'), '--sensitivity-ratios', '1.5'
    ],
                   check=False)
    assert bad.returncode != 0 and '--sensitivity-ratios [1.5]' in bad.stderr
    assert not osp.exists(osp.join('work_dirs', 'tiny_mmdet_1_sensitivity'))
