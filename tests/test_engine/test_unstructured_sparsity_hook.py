"""``UnstructuredSparsityHook``: arguments checked when built, the shipped
configs resolve on their models, masks survive training, resume, test and
export."""
import json
import os.path as osp
import pickle

import pytest
import torch
from conftest import REPO, RTMDET, TINY_LOADERS, run_tool
from mmengine.config import Config

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.sparsity import resolve_sparsity_plan
from mmprune.engine.hooks import UnstructuredSparsityHook
from mmprune.models.builder import build_model_from


@pytest.mark.parametrize('kwargs, message', [
    (dict(importance='l3'), "importance 'l3'"),
    (dict(scope='layer'), "scope 'layer'"),
    (dict(start_iter=10, end_iter=5), 'start_iter = 10, end_iter = 5'),
    (dict(ratios=[('neck', 1.5)]), r"ratios\['neck'\] = 1.5"),
])
def test_hook_rejects_bad_arguments_when_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UnstructuredSparsityHook(**kwargs)


def test_the_former_latency_input_shape_is_read_with_a_warning():
    with pytest.warns(FutureWarning, match='now input_shape'):
        hook = UnstructuredSparsityHook(
            default_ratio=0.5, latency_input_shape=(96, 128))
    assert hook.input_shape == (96, 128)
    assert UnstructuredSparsityHook(
        default_ratio=0.5, input_shape=(64, 64)).input_shape == (64, 64)


@pytest.mark.parametrize('config, protected', [
    ('configs/sparsity/rtmdet_tiny_sparsity-module-aware-cubic_2e_shapes.py',
     'bbox_head.rtm_cls.0.weight'),
    ('configs/sparsity/segformer_mit-b0_sparsity-30-semi24_1k_shapes-'
     '128x128.py', 'decode_head.conv_seg.weight'),
    ('configs/sparsity/oriented-rcnn-le90_r18_fpn_sparsity-40-global_1e_'
     'shapes.py', 'roi_head.bbox_head.fc_reg.weight'),
])
def test_shipped_configs_resolve_on_their_models(config, protected):
    cfg = Config.fromfile(osp.join(REPO, config))
    hook_cfg = [
        h for h in cfg.custom_hooks
        if h.type == 'mmprune.UnstructuredSparsityHook'
    ][0]
    args = {k: v for k, v in hook_cfg.items() if k != 'type'}
    hook = UnstructuredSparsityHook(**args)
    plan = resolve_sparsity_plan(
        build_model_from(cfg), hook.ratios, hook.default_ratio, hook.protected,
        hook.semi_structured)
    assert protected in {t.name for t in plan.protected}
    assert plan.targets and all(t.ratio > 0 for t in plan.targets)
    if hook.semi_structured:
        assert any(t.semi_structured for t in plan.targets)


_TINY_SPARSE = '_base_ = {base!r}\n' + TINY_LOADERS + '''
train_cfg = dict(max_epochs={epochs}, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
         update_buffers=True, priority=49),
    dict(type='mmprune.UnstructuredSparsityHook',
         ratios=[(r'backbone\\.stem', 0.1), ('^neck', 0.3)],
         default_ratio=0.6, importance='l1+l2', start_iter=0, end_iter=1,
         interval=1, input_shape=(128, 128), latency_runs=2)]
'''


def _zero_where_masked(state: dict, masks: dict) -> None:
    for name, mask in masks.items():
        assert (state[name][~mask] == 0).all(), name
        assert mask.dtype == torch.bool


def test_masks_survive_training_resume_test_and_export(tmp_path):

    def cfg(epochs):
        path = tmp_path / f'sparse_{epochs}.py'
        path.write_text(_TINY_SPARSE.format(base=RTMDET, epochs=epochs))
        return str(path)

    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg(2), '--work-dir', work])
    ckpts = [
        torch.load(osp.join(work, f'epoch_{e}.pth'), weights_only=True)
        for e in (1, 2)
    ]
    # cubic ramp over iterations 0-1 (fractions 0, 1): epoch 1 ends at it
    for ckpt in ckpts:
        assert ckpt['sparsity']['fraction'] == 1.0
        # AdamW with weight decay moved every weight in each step; the
        # masked ones are zero again, in the model and in the EMA copy
        _zero_where_masked(ckpt['state_dict'], ckpt['sparsity']['masks'])
        _zero_where_masked(
            ckpt['ema_state_dict'] if 'ema_state_dict' in ckpt else {}, {})
    ema = {
        k[len('module.'):]: v
        for k, v in ckpts[1]['ema_state_dict'].items()
        if k.startswith('module.')
    }
    _zero_where_masked(ema, ckpts[1]['sparsity']['masks'])
    for k, m in ckpts[0]['sparsity']['masks'].items():
        assert torch.equal(m, ckpts[1]['sparsity']['masks'][k])
    report = json.load(open(osp.join(work, 'sparsity_results.json')))
    rules = {r['rule']: r for r in report['rules']}
    assert abs(rules['default']['reached'] - 0.6) < 1e-3
    assert abs(rules['^neck']['reached'] - 0.3) < 1e-3
    assert rules['protected']['reached'] == 0
    assert report['latency']['dense_before_ms'] > 0 and \
        report['latency']['dense_after_ms'] > 0

    # resume: the masks come back from the checkpoint and stay enforced
    proc = run_tool(['tools/train.py', cfg(3), '--work-dir', work, '--resume'])
    assert 'restored' in proc.stdout + proc.stderr
    last = torch.load(osp.join(work, 'epoch_3.pth'), weights_only=True)
    assert last['meta']['iter'] == 6
    for k, m in ckpts[1]['sparsity']['masks'].items():
        assert torch.equal(last['sparsity']['masks'][k], m)
    _zero_where_masked(last['state_dict'], last['sparsity']['masks'])

    # export, then the stock test tool on the dense and compressed files
    dense = osp.join(work, 'epoch_3.pth')
    packed = str(tmp_path / 'sparse.pth')
    proc = run_tool([
        'tools/model_converters/compress_sparse_checkpoint.py', dense, packed,
        '--json',
        str(tmp_path / 'sizes.json')
    ])
    assert 'round trip exact' in proc.stdout
    sizes = json.load(open(tmp_path / 'sizes.json'))
    assert sizes['compressed_file_bytes'] < sizes['dense_weights_bytes']
    outs = []
    for ckpt in (dense, packed):
        out = str(tmp_path / f'{osp.basename(ckpt)}.pkl')
        run_tool(
            ['tools/test.py',
             cfg(3), ckpt, '--work-dir', work, '--out', out])
        with open(out, 'rb') as f:
            outs.append(pickle.load(f))
    for a, b in zip(*outs):  # the same weights give the same predictions
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a['pred_instances'][key],
                               b['pred_instances'][key])
    # the source checkpoint is never the output
    proc = run_tool(
        ['tools/model_converters/compress_sparse_checkpoint.py', dense, dense],
        check=False)
    assert proc.returncode != 0 and 'refusing to overwrite' in \
        proc.stdout + proc.stderr
