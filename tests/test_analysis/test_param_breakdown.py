"""tools/analysis_tools/param_breakdown.py and the module breakdown: totals,
the RoI-head figures the slimming plans estimated, FLOPs, and the slimmed
LSK configs."""
import json
import os.path as osp

import pytest
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.analysis import module_breakdown
from mmprune.engine.run_config import check_fpn_width
from mmprune.models.builder import build_model_from

LSK_S = osp.join(REPO, 'configs/lsknet/lsk_s_fpn_1x_dota_le90.py')
PLAN = osp.join(REPO, 'configs/pruning/lsknet/'
                'lsk_s_fpn_1x_dota_le90_prune{}.py')


def _model(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmrotate')
    return build_model_from(cfg)


def test_breakdown_totals_equal_the_parameter_sum_and_flops_add_up():
    cfg = Config.fromfile(LSK_S)
    cfg.merge_from_dict({
        'model.backbone.embed_dims': [16, 32, 48, 64],
        'model.backbone.depths': [1, 1, 1, 1],
        'model.backbone.norm_cfg': dict(type='BN'),
        'model.neck.in_channels': [16, 32, 48, 64],
    })
    init_default_scope('mmrotate')
    model = build_model_from(cfg)
    b = module_breakdown(model, (64, 64))
    # the forward bound for the count is taken off again, not replaced by
    # the model's own bound method (a reference cycle: a dropped model
    # would stay in memory until a full collection)
    assert 'forward' not in vars(model)
    assert b.total_params == sum(p.numel() for p in model.parameters())
    parts = ['backbone', 'neck', 'rpn_head', 'roi_head']
    assert sum(b.params[p] for p in parts) == b.total_params
    assert b.total_flops > 0 and all(b.flops.get(p, 0) > 0 for p in parts)
    assert sum(b.flops[p] for p in parts) <= b.total_flops
    assert 'roi_head.bbox_head.shared_fcs.0' in b.rows(4)
    assert 'backbone.block1.0.mlp.fc1' not in b.rows(4)


def test_tool_reports_the_seed_figures_and_the_plans_savings(tmp_path):
    out = str(tmp_path / 'breakdown.json')
    proc = run_tool([
        'tools/analysis_tools/param_breakdown.py', LSK_S, '--compare',
        PLAN.format('B'), '--no-flops', '--json', out
    ])
    assert 'B saves' in proc.stdout
    data = json.load(open(out))
    a, b = data['params'], data['compare']['params']
    base = _model(LSK_S)
    assert a[''] == sum(p.numel() for p in base.parameters())
    # the seed: fc1 = 256x7x7x1024 ~ 12.85M, fc2 = 1024x1024 ~ 1.05M
    assert a['roi_head.bbox_head.shared_fcs.0'] == 256 * 49 * 1024 + 1024
    assert a['roi_head.bbox_head.shared_fcs.1'] == 1024 * 1024 + 1024
    assert b['roi_head.bbox_head.shared_fcs.0'] == 224 * 49 * 640 + 640
    assert b[''] == sum(p.numel()
                        for p in _model(PLAN.format('B')).parameters())


def test_plan_configs_keep_the_fpn_width_consistent():
    for plan in ('A', 'B', 'C', '-1fc'):
        check_fpn_width(Config.fromfile(PLAN.format(plan)))
    model = _model(PLAN.format('C'))
    assert model.neck.fpn_convs[0].conv.out_channels == 224
    assert model.rpn_head.rpn_conv.in_channels == 224
    assert model.roi_head.bbox_roi_extractor.out_channels == 224
    assert model.roi_head.bbox_head.shared_fcs[0].in_features == 224 * 49
    sgu = model.backbone.block4[0].attn.spatial_gating_unit
    assert sgu.conv1.out_channels == 170
    # a width changed in one consumer only is named before any work
    cfg = Config.fromfile(PLAN.format('B'))
    cfg.merge_from_dict({'model.neck.out_channels': 192})
    with pytest.raises(ValueError, match='model.rpn_head.in_channels=224'):
        check_fpn_width(cfg)
