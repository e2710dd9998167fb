"""Unstructured sparsity in the core: ratios per pattern, importance, the
cubic schedule, 2:4, masks that only grow, compressed checkpoints."""
import io

import pytest
import torch
import torch.nn as nn
from conftest import RTMDET
from mmengine.config import Config

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.sparsity import (apply_masks, compress_checkpoint,
                                   compute_masks, cubic_sparsity_fraction,
                                   decompress_checkpoint, element_importance,
                                   is_sparsity_step, resolve_sparsity_plan,
                                   semi_structured_mask, sparsity_statistics)
from mmprune.models.builder import build_model_from


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 16, 3),
            nn.Conv2d(16, 16, 3, groups=16))
        self.neck = nn.Conv2d(16, 16, 1)
        self.conv_cls = nn.Conv2d(16, 5, 1)


def test_first_match_wins_default_and_protected_heads():
    plan = resolve_sparsity_plan(
        Net(), [(r'backbone\.0', 0.1), ('backbone', 0.2),
                (r'backbone\.2', 0.3)],
        default_ratio=0.4)
    got = {t.name: (t.ratio, t.rule) for t in plan.targets}
    assert got == {
        'backbone.0.weight': (0.1, r'backbone\.0'),
        'backbone.2.weight': (0.2, 'backbone'),  # not 0.3: first match
        'backbone.3.weight': (0.2, 'backbone'),
        'neck.weight': (0.4, 'default')
    }
    # the prediction layer is protected by default; BN weights never count
    assert [t.name for t in plan.protected] == ['conv_cls.weight']
    plan = resolve_sparsity_plan(Net(), None, 0.4, protected=[])
    assert 'conv_cls.weight' in {t.name for t in plan.targets}


@pytest.mark.parametrize('kwargs, message', [
    (dict(ratios={
        'backbone': 0.2,
        'stage9': 0.1
    }), "'stage9' matches no"),
    (dict(protected=['bbox_head']), "protected: pattern 'bbox_head'"),
    (dict(semi_structured=['fc9']), "semi_structured: pattern 'fc9'"),
    (dict(ratios={'neck': 1.0}), r"ratios\['neck'\] = 1.0"),
    (dict(default_ratio=-0.1), 'default_ratio = -0.1'),
    (dict(ratios={'back(': 0.1}), 'not a valid regular expression'),
])
def test_bad_patterns_and_ratios_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_sparsity_plan(Net(), **kwargs)


@pytest.fixture(scope='module')
def rtmdet():
    return build_model_from(Config.fromfile(RTMDET))


RATIOS = [(r'backbone\.stem', 0.04), (r'\.attention', 0.12),
          (r'backbone\.stage\d\.\d\.blocks', 0.06), ('^neck', 0.10)]


@pytest.mark.parametrize('scope', ['per_layer', 'global'])
@pytest.mark.parametrize('fraction', [0.3, 1.0])
def test_ratios_are_met_per_pattern_within_one_weight(rtmdet, scope, fraction):
    model = rtmdet
    plan = resolve_sparsity_plan(model, RATIOS, default_ratio=0.22)
    masks = compute_masks(model, plan, fraction, 'l1+l2', scope)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        apply_masks(model, masks)
        stats = sparsity_statistics(model, plan, fraction)
    finally:
        model.load_state_dict(state)
    assert {r['rule'] for r in stats['rules']} == \
        {p for p, _ in RATIOS} | {'default', 'protected'}
    for rule in stats['rules']:
        pruned = rule['total'] - rule['nonzero']
        wanted = rule['asked'] * rule['total']
        if scope == 'global':
            assert abs(pruned - wanted) <= 1, rule
        else:  # every weight meets its ratio within one element
            assert abs(pruned - wanted) <= rule['weights'], rule
    for row in stats['modules']:
        if scope == 'per_layer':
            assert abs((row['total'] - row['nonzero']) -
                       row['asked'] * row['total']) <= 1, row
        if row['rule'] == 'protected':
            assert row['nonzero'] == row['total']


def _two_layers(a, b):
    net = nn.Module()
    net.a, net.b = nn.Linear(4, 1, bias=False), nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        net.a.weight.copy_(torch.tensor([a]))
        net.b.weight.copy_(torch.tensor([b]))
    return net


def test_importance_by_hand():
    # layer a: |w| mean 2.5 -> L1 scores [.4 .8 1.2 1.6]; w^2 mean 7.5 ->
    # L2 scores [.133 .533 1.2 2.133]. layer b: |w| mean 3.75 -> [.133
    # .133 1.333 2.4]; w^2 mean 26.625 -> [.0094 .0094 .939 3.04].
    net = _two_layers([1., -2., 3., 4.], [0.5, -0.5, 5., 9.])
    b_l1 = torch.tensor([0.5, 0.5, 5., 9.]) / 3.75
    b_l2 = torch.tensor([0.25, 0.25, 25., 81.]) / 26.625
    torch.testing.assert_close(
        element_importance(net.b.weight, 'l1+l2', 0.7).flatten(),
        0.7 * b_l1 + 0.3 * b_l2)
    plan = resolve_sparsity_plan(net, None, default_ratio=0.625, protected=[])
    kept = {}
    for imp in ('l1', 'l2', 'l1+l2'):
        m = compute_masks(net, plan, 1.0, imp, 'global')
        kept[imp] = (m['a.weight'].flatten().tolist(),
                     m['b.weight'].flatten().tolist())
    # 5 of 8 pruned, ranked across both layers: L1 drops a's 3.0 (1.2 <
    # 1.333), L2 drops b's 5.0 instead (0.939 < 1.2); 0.7/0.3 follows L1
    assert kept['l1'] == ([False, False, False,
                           True], [False, False, True, True])
    assert kept['l2'] == ([False, False, True,
                           True], [False, False, False, True])
    assert kept['l1+l2'] == kept['l1']
    # per layer the three criteria agree (all monotone in |w|): 2.5 -> 2
    # of 4 per layer... round(0.625 * 4) = 2 (banker's rounding of 2.5)
    per_layer = [
        compute_masks(net, plan, 1.0, imp, 'per_layer')
        for imp in ('l1', 'l2', 'l1+l2')
    ]
    for m in per_layer[1:]:
        assert all(torch.equal(m[k], per_layer[0][k]) for k in m)
    assert per_layer[0]['b.weight'].flatten().tolist() == \
        [False, False, True, True]


def test_cubic_schedule():
    assert cubic_sparsity_fraction(5, 10, 20) == 0
    assert cubic_sparsity_fraction(10, 10, 20) == 0
    assert cubic_sparsity_fraction(15, 10, 20) == pytest.approx(0.875)
    assert cubic_sparsity_fraction(20, 10, 20) == 1
    assert cubic_sparsity_fraction(7, 7, 7) == 1  # one shot
    steps = [i for i in range(30) if is_sparsity_step(i, 10, 25, 10)]
    assert steps == [10, 20, 25]


def test_masks_only_grow_during_gradual_sparsity():
    torch.manual_seed(0)
    net = Net()
    plan = resolve_sparsity_plan(net, None, 0.6)
    m1 = compute_masks(net, plan, 0.5)
    apply_masks(net, m1)
    with torch.no_grad():  # training moves the kept weights around
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    apply_masks(net, m1)
    m2 = compute_masks(net, plan, 1.0, previous=m1)
    for k in m1:
        assert not (m2[k] & ~m1[k]).any()  # nothing pruned comes back
        assert (~m2[k]).sum() == round(0.6 * m2[k].numel())


def test_semi_structured_two_of_four():
    torch.manual_seed(0)
    net = Net()
    plan = resolve_sparsity_plan(
        net, None, 0.3, semi_structured=['backbone', 'neck'])
    # backbone.0 has 3 input channels and backbone.3 is depthwise (1 per
    # group): both keep their ratio rule, with the reason reported
    assert set(plan.skipped) == {'backbone.0.weight', 'backbone.3.weight'}
    assert 'not a multiple of 4' in plan.skipped['backbone.3.weight']
    rules = {t.name: t.rule for t in plan.targets}
    assert rules['backbone.2.weight'] == '2:4' and \
        rules['backbone.0.weight'] == 'default'
    w = net.backbone[2].weight  # (16, 8, 3, 3)
    mask = semi_structured_mask(w)
    groups = mask.permute(0, 2, 3, 1).reshape(-1, 4)
    assert (groups.sum(1) == 2).all()
    mags = w.detach().abs().permute(0, 2, 3, 1).reshape(-1, 4)
    assert (mags[groups].reshape(-1, 2).min(1).values
            >= mags[~groups].reshape(-1, 2).max(1).values).all()


def _saved_size(obj) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def test_compressed_checkpoint_round_trip_is_exact_and_shrinks():
    torch.manual_seed(0)
    dense = dict(
        w=torch.randn(256, 64, 3, 3),
        fc=torch.randn(512, 512),
        half=torch.randn(128, 128).half(),
        steps=torch.tensor(7),
        bias=torch.randn(8))
    sizes = []
    for sparsity in (0.0, 0.3, 0.6, 0.9):
        state = {k: v.clone() for k, v in dense.items()}
        for k in ('w', 'fc', 'half'):
            drop = torch.rand(state[k].shape) < sparsity
            state[k][drop] = 0
        state['fc'][0, :3] = torch.tensor([-0.0, float('nan'), 0.0])
        state['fc_shared'] = state['fc']  # e.g. RTMDet's share_conv
        ckpt = dict(meta=dict(epoch=1), state_dict=state)
        packed = compress_checkpoint(ckpt)
        buf = io.BytesIO()
        torch.save(packed, buf)
        buf.seek(0)
        back = decompress_checkpoint(torch.load(buf, weights_only=True))
        assert back['meta'] == dict(epoch=1)
        # a tensor under two keys is stored once and comes back shared
        assert back['state_dict']['fc_shared'] is back['state_dict']['fc']
        for k, v in state.items():
            w = back['state_dict'][k]
            assert w.dtype == v.dtype and w.shape == v.shape
            if v.is_floating_point():  # bit for bit, -0.0 and NaN included
                assert torch.equal(w.view(torch.uint8), v.view(torch.uint8)), k
            else:
                assert torch.equal(w, v)
        sizes.append(_saved_size(packed))
        if sparsity == 0.0:
            dense_size = _saved_size(ckpt)
    assert sizes[0] <= dense_size * 1.01  # dense tensors stay dense
    assert sizes[1] < sizes[0] and sizes[2] < sizes[1] and \
        sizes[3] < sizes[2]
    assert sizes[3] < 0.2 * dense_size
