"""Weight inheritance from a wider LSKNet Oriented R-CNN into slimmer ones:
a hand computation of the kept channels, coupled FPN narrowing, the report,
architecture mismatches, the hook and the offline tool through the stock
tools."""
import copy
import os.path as osp

import pytest
import torch
from conftest import REPO, build_lsk, lsk_fpn, lsk_tiny_cfg, tracing_cfg

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.inheritance import ArchitectureMismatchError, inherit_weights
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from


@pytest.fixture(scope='module')
def source():
    cfg = lsk_tiny_cfg()
    model = build_lsk(cfg)
    return cfg, model, tracing_batch(cfg, model)


def _topk(scores: torch.Tensor, k: int) -> list:
    return sorted(torch.argsort(scores, descending=True)[:k].tolist())


def test_narrowing_the_fc_head_keeps_hand_computed_channels(source):
    src_cfg, src, data = source
    tgt = build_lsk(
        lsk_tiny_cfg(**{'model.roi_head.bbox_head.fc_out_channels': 48}))
    report = inherit_weights(src, src.state_dict(), tgt, data)

    head, new = src.roi_head.bbox_head, tgt.roi_head.bbox_head
    w1, b1 = head.shared_fcs[0].weight, head.shared_fcs[0].bias
    w2, b2 = head.shared_fcs[1].weight, head.shared_fcs[1].bias
    wc, wr = head.fc_cls.weight, head.fc_reg.weight
    # L1 per channel in every coupled layer, averaged over the layers
    k1 = _topk((w1.abs().sum(1) + w2.abs().sum(0)) / 2, 48)
    k2 = _topk((w2.abs().sum(1) + wc.abs().sum(0) + wr.abs().sum(0)) / 3, 48)
    assert k1 != list(range(48)) and k2 != list(range(48))  # no slice
    assert torch.equal(new.shared_fcs[0].weight, w1[k1])
    assert torch.equal(new.shared_fcs[0].bias, b1[k1])
    assert torch.equal(new.shared_fcs[1].weight, w2[k2][:, k1])
    assert torch.equal(new.shared_fcs[1].bias, b2[k2])
    assert torch.equal(new.fc_cls.weight, wc[:, k2])
    assert torch.equal(new.fc_reg.weight, wr[:, k2])
    assert torch.equal(new.fc_cls.bias, head.fc_cls.bias)

    # the report covers every tensor of the target exactly once
    names = [t.name for t in report.tensors]
    assert sorted(names) == sorted(tgt.state_dict())
    status = {t.name: t for t in report.tensors}
    fc1 = status['roi_head.bbox_head.shared_fcs.0.weight']
    assert fc1.status == 'narrowed' and 'kept 48/64' in fc1.detail
    assert status['backbone.block1.0.mlp.fc1.weight'].status == 'inherited'
    assert report.count('fresh') == 0


@pytest.mark.parametrize('importance', ['l2', 'bn_scale'])
def test_other_importances_rank_as_documented(source, importance):
    src_cfg, src, data = source
    tgt = build_lsk(
        lsk_tiny_cfg(**{'model.roi_head.bbox_head.fc_out_channels': 48}))
    inherit_weights(src, src.state_dict(), tgt, data, importance)
    head = src.roi_head.bbox_head
    w1, w2 = head.shared_fcs[0].weight, head.shared_fcs[1].weight
    # l2: squared norms; bn_scale: the fc group has no BatchNorm, so it
    # falls back to L1
    p = 2 if importance == 'l2' else 1
    k1 = _topk((w1.abs().pow(p).sum(1) + w2.abs().pow(p).sum(0)) / 2, 48)
    assert torch.equal(tgt.roi_head.bbox_head.shared_fcs[0].weight, w1[k1])


def test_fpn_width_change_narrows_every_consumer_consistently(source):
    src_cfg, src, data = source
    tgt_cfg = lsk_tiny_cfg(
        **lsk_fpn(24), **{
            'model.backbone.mlp_ratios': [3, 3, 3, 3],
            'model.backbone.lsk_split_dims': [8, 16, 16, 21]
        })
    tgt = build_lsk(tgt_cfg)
    report = inherit_weights(src, src.state_dict(), tgt, data)
    assert report.count('fresh') == 0

    groups = {g['root']: g for g in report.groups}
    fpn_group = next(g for r, g in groups.items()
                     if r.startswith('neck.fpn_convs'))
    kept = fpn_group['kept_channels']
    assert len(kept) == 24
    assert 'roi_head.bbox_head.shared_fcs.0' in fpn_group['layers']
    assert 'rpn_head.rpn_conv' in fpn_group['layers']
    # the RoI FC reads the same FPN channels, through the 7x7 flattening
    w1 = src.roi_head.bbox_head.shared_fcs[0].weight.view(64, 32, 49)
    assert torch.equal(
        tgt.roi_head.bbox_head.shared_fcs[0].weight.view(64, 24, 49), w1[:,
                                                                         kept])
    rpn_kept = groups['rpn_head.rpn_conv']['kept_channels']
    assert torch.equal(tgt.rpn_head.rpn_conv.weight,
                       src.rpn_head.rpn_conv.weight[rpn_kept][:, kept])
    # the LSK split is narrowed as one group of conv1, conv2 and conv
    split = groups['backbone.block4.0.attn.spatial_gating_unit.lsk_split']
    sgu = src.backbone.block4[0].attn.spatial_gating_unit
    new = tgt.backbone.block4[0].attn.spatial_gating_unit
    ks = split['kept_channels']
    assert torch.equal(new.conv1.weight, sgu.conv1.weight[ks])
    assert torch.equal(new.conv2.weight, sgu.conv2.weight[ks])
    assert torch.equal(new.conv.weight, sgu.conv.weight[:, ks])

    # the narrowed model runs in loss and predict mode
    batch = tracing_batch(tgt_cfg, tgt)
    tgt.train()
    losses = tgt(**batch, mode='loss')
    assert torch.isfinite(tgt.parse_losses(losses)[0])
    tgt.eval()
    with torch.no_grad():
        preds = tgt(**tracing_batch(tgt_cfg, tgt), mode='predict')
    assert len(preds) == 2


def test_single_fc_head_reports_fresh_consumers_of_the_removed_fc(source):
    src_cfg, src, data = source
    tgt = build_lsk(
        lsk_tiny_cfg(
            **{
                'model.roi_head.bbox_head.type': 'mmdet.ConvFCBBoxHead',
                'model.roi_head.bbox_head.num_shared_fcs': 1,
                'model.roi_head.bbox_head.fc_out_channels': 48,
            }))
    report = inherit_weights(src, src.state_dict(), tgt, data)
    status = {t.name: t for t in report.tensors}
    assert status['roi_head.bbox_head.shared_fcs.0.weight'].status == \
        'narrowed'
    fresh = status['roi_head.bbox_head.fc_cls.weight']
    assert fresh.status == 'fresh'
    assert 'roi_head.bbox_head.shared_fcs.1' in fresh.detail


def test_checkpoint_of_another_architecture_names_the_module(source):
    src_cfg, src, data = source
    # a deeper backbone: block1.1 does not exist in the source
    tgt = build_lsk(lsk_tiny_cfg(**{'model.backbone.depths': [2, 1, 1, 1]}))
    with pytest.raises(
            ArchitectureMismatchError,
            match=r'"backbone.block1.1" \(LSKBlock\)'):
        inherit_weights(src, src.state_dict(), tgt, data)
    # a checkpoint that does not match its source model
    state = copy.copy(src.state_dict())
    state['neck.extra.weight'] = torch.zeros(1)
    with pytest.raises(ArchitectureMismatchError, match='"neck.extra"'):
        inherit_weights(src, state, build_lsk(lsk_tiny_cfg()), data)


def test_one_stage_detector_inherits_through_tensor_mode(tmp_path):
    """RTMDet is traced through its tensor-mode forward (its loss graph made
    Torch-Pruning's group search run for > 10 minutes): the half-FLOPs
    slim config inherits every tensor from the full model, also where a
    CSP block's two concatenated branches share one channel-attention
    group (each branch keeps its own width: before that was handled, 58
    tensors came out fresh)."""
    from mmprune.core.tracing import tensor_mode_reaches_all_layers
    full_cfg, slim_cfg = (
        tracing_cfg(osp.join(REPO, path), tmp_path, img_size=128)
        for path in ('configs/rtmdet/rtmdet_tiny_12e_shapes.py',
                     'configs/pruning/rtmdet/rtmdet_tiny_slim-'
                     'half-flops_2e_shapes.py'))
    full, slim = build_model_from(full_cfg), build_model_from(slim_cfg)
    data = tracing_batch(full_cfg, full)
    assert tensor_mode_reaches_all_layers(full, data)
    report = inherit_weights(full, full.state_dict(), slim, data)
    assert report.count('fresh') == 0
    assert report.count('narrowed') > 0
    slim.train()
    loss, _ = slim.parse_losses(
        slim(**tracing_batch(slim_cfg, slim), mode='loss'))
    assert torch.isfinite(loss)
