"""The retrain route: a pruned checkpoint becomes its architecture with
fresh weights and a config that trains it on the base schedule."""
import hashlib
import os.path as osp

import torch
from conftest import RTMDET, pruned_tiny_rtmdet, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.core.structured.pruned_structure import PrunedStructure
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config


def _sha(path: str) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def test_pruned_checkpoint_becomes_a_from_scratch_run(tmp_path):
    cfg_path, pth, model, result = pruned_tiny_rtmdet(
        tmp_path, 'train_cfg = dict(max_epochs=1, val_interval=1)\n')
    # trained-looking BN statistics, which a fresh start must forget
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
    pruned = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = torch.load(pth, weights_only=True)
    ckpt['state_dict'] = pruned
    torch.save(ckpt, pth)
    source = _sha(pth)

    out = tmp_path / 'scratch'
    proc = run_tool([
        'tools/model_converters/pruned_to_scratch.py',
        str(cfg_path), pth, '--out',
        str(out)
    ])
    scratch_cfg = out / 'rtmdet_tiny_scratch.py'
    assert f'python tools/train.py {scratch_cfg}' in proc.stdout
    assert _sha(pth) == source  # the pruned checkpoint is only read
    init = torch.load(str(out / 'scratch_init.pth'), weights_only=True)
    fresh = init['state_dict']
    assert {
        k: v.shape
        for k, v in fresh.items()
    } == {
        k: v.shape
        for k, v in pruned.items()
    }
    convs = [k for k, v in pruned.items() if v.dim() == 4]
    assert convs and all(not torch.equal(fresh[k], pruned[k]) for k in convs)
    assert all(fresh[k].eq(0).all() for k in fresh
               if k.endswith('running_mean'))
    assert PrunedStructure.from_checkpoint(init).history == result.history
    # the config: fresh weights, the structure rebuilt, the base schedule
    cfg = Config.fromfile(str(scratch_cfg))
    assert cfg.load_from == str(out / 'scratch_init.pth')
    assert cfg.train_cfg.max_epochs == 1
    assert [
        h for h in cfg.custom_hooks
        if h['type'] == 'mmprune.StructuredPruningHook'
    ] == [dict(type='mmprune.StructuredPruningHook')]
    work = str(tmp_path / 'train')
    run_tool(['tools/train.py', str(scratch_cfg), '--work-dir', work])
    trained = torch.load(
        osp.join(work, 'epoch_1.pth'), weights_only=True)['state_dict']
    assert all(trained[k].shape == v.shape for k, v in pruned.items())

    # an earlier result is kept unless --overwrite
    proc = run_tool([
        'tools/model_converters/pruned_to_scratch.py',
        str(cfg_path), pth, '--out',
        str(out)
    ],
                    check=False)
    assert proc.returncode != 0 and '--overwrite' in proc.stderr


def test_a_checkpoint_without_a_pruned_structure_is_refused(tmp_path):
    cfg = read_config(RTMDET)
    init_default_scope('mmdet')
    pth = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict=build_model_from(cfg).state_dict()), pth)
    proc = run_tool([
        'tools/model_converters/pruned_to_scratch.py', RTMDET, pth, '--out',
        str(tmp_path / 'out')
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'no pruned structure' in proc.stderr and 'plain.pth' in \
        proc.stderr
