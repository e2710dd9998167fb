"""``WeightInheritanceHook`` and ``tools/inherit_weights.py`` through the
stock tools; the hook checks its input before any work."""
import json
import os.path as osp

import pytest
from conftest import REPO, lsk_fpn, lsk_tiny_cfg, run_tool
from mmengine.config import Config

import mmprune  # noqa: F401  (registries, compat shims)


def test_hook_and_offline_tool_through_the_stock_tools(tmp_path):
    source_cfg = str(tmp_path / 'source.py')
    lsk_tiny_cfg(
        **{
            'train_cfg.max_epochs': 1,
            'train_cfg.val_interval': 2,  # no validation: tools/test.py below
            'default_hooks.logger.interval': 1,
        }).dump(source_cfg)
    src_work = str(tmp_path / 'src')
    run_tool(['tools/train.py', source_cfg, '--work-dir', src_work])
    src_ckpt = osp.join(src_work, 'epoch_1.pth')
    before = osp.getmtime(src_ckpt)

    # plan C at tiny scale: the plan's config with the tiny widths
    plan_c = osp.join(
        REPO, 'configs/pruning/lsknet/lsk_s_fpn_3e_shapes_le90_pruneC.py')
    target_cfg = str(tmp_path / 'target.py')
    lsk_tiny_cfg(
        plan_c,
        **lsk_fpn(24),
        **{
            'model.backbone.mlp_ratios': [3, 3, 3, 3],
            'model.backbone.lsk_split_dims': [8, 16, 16, 21],
            'model.roi_head.bbox_head.fc_out_channels':
            48,
            'custom_hooks':
            [dict(type='mmprune.WeightInheritanceHook', checkpoint=src_ckpt)],
            'train_cfg.max_iters':
            2,
            'train_cfg.val_interval':
            3,  # tools/test.py evaluates it below
            'default_hooks.checkpoint.interval':
            2,
            'default_hooks.logger.interval':
            1,
        }).dump(target_cfg)
    work = str(tmp_path / 'tgt')
    proc = run_tool(['tools/train.py', target_cfg, '--work-dir', work])
    log = proc.stdout + proc.stderr
    assert 'weight inheritance (l1)' in log
    report = json.load(open(osp.join(work, 'weight_inheritance.json')))
    assert report['counts']['fresh'] == 0 and report['counts']['narrowed']
    assert osp.getmtime(src_ckpt) == before  # the source is never touched
    proc = run_tool([
        'tools/test.py', target_cfg,
        osp.join(work, 'iter_2.pth'), '--work-dir', work
    ])
    assert 'dota/mAP' in proc.stdout + proc.stderr

    # offline: inherit once, test the result with the stock test tool
    out = str(tmp_path / 'inherited' / 'pruneC.pth')
    run_tool(['tools/inherit_weights.py', target_cfg, src_ckpt, '--out', out])
    assert osp.isfile(out.replace('.pth', '_weight_inheritance.json'))
    proc = run_tool(['tools/test.py', target_cfg, out, '--work-dir', work])
    assert 'dota/mAP' in proc.stdout + proc.stderr
    # an --out over the source: a bad-input case (bad_inputs.py)


class _Runner:
    """The few runner attributes the hook reads before any work."""

    def __init__(self, iteration=0, **cfg):
        from mmengine.logging import MMLogger
        self.iter = iteration
        self.cfg = Config(cfg)
        self.logger = MMLogger.get_current_instance()


def test_hook_checks_its_input_before_any_work(tmp_path):
    from mmprune.engine import WeightInheritanceHook
    with pytest.raises(ValueError, match='importance "l3"'):
        WeightInheritanceHook(checkpoint='x.pth', importance='l3')
    missing = str(tmp_path / 'missing.pth')
    hook = WeightInheritanceHook(checkpoint=missing)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        hook.before_train(_Runner())
    with pytest.raises(ValueError, match='load_from'):
        hook.before_train(_Runner(load_from='other.pth'))
    # a resumed run already holds its weights: nothing is loaded
    hook.before_train(_Runner(iteration=10))
