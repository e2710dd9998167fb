"""Any model prunes or says why: the model handed back always runs (groups
that break it are rolled back and reported), Torch-Pruning's failures
become skipped groups, output layers are protected by structure, losses
that exist only in train mode are traced there without touching BN
statistics, and a synthetic batch in each task's format traces a model
without its dataset."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from conftest import REPO
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope

import mmprune  # noqa: F401
from mmprune.core.layer_pruners import register_layer_pruner
from mmprune.core.structured import model_check, prune_model
from mmprune.core.structured.model_check import (reused_outputs, run_error,
                                                 search_checks)
from mmprune.core.structured.output_layers import STRUCTURE_REASON
from mmprune.core.structured.phase_clock import PhaseClock
from mmprune.core.structured.pruning_history import HistoryReplayer
from mmprune.core.structured.stepping import _prune_step
from mmprune.core.tp_backend.guarded_graph import GuardedDependencyGraph
from mmprune.core.tracing import (training_loss_forward,
                                  zero_non_finite_parameters)
from mmprune.datasets.synthetic_batch import (synthetic_batch_of_config,
                                              synthetic_training_batch,
                                              task_of)
from mmprune.models.builder import build_model_from
from mmprune.models.pruning_support import RoIExtractorPruner

CONFIGS = {
    'det': 'configs/rtmdet/rtmdet_tiny_12e_shapes.py',
    'rotated': 'configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py',
    'seg': 'configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py',
}


def _build(path: str):
    cfg = Config.fromfile(path if osp.isabs(path) else osp.join(REPO, path))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    return cfg, build_model_from(cfg)


def _zoo(tmp_path, base: str):
    path = tmp_path / 'zoo.py'
    path.write_text(f'_base_ = {base!r}\n')
    return _build(str(path))


@pytest.mark.parametrize('task', ['det', 'rotated', 'seg'])
def test_synthetic_batch_in_each_task_format_runs_the_model(task):
    cfg, model = _build(CONFIGS[task])
    assert task_of(cfg) == task
    data = synthetic_training_batch(model, task, (96, 128))
    assert tuple(data['inputs'].shape[-2:]) == (96, 128)
    assert run_error(model, data) is None
    model.train()
    loss = training_loss_forward(model, data)
    assert torch.isfinite(loss)


class _ForgetfulRoIExtractorPruner(RoIExtractorPruner):
    """Deliberately broken: forgets to narrow the extractor, whose output
    buffer then has the old FPN width."""

    def prune_out_channels(self, layer, idxs):
        return layer

    prune_in_channels = prune_out_channels


def test_a_group_that_breaks_the_model_is_rolled_back_and_reported(
        monkeypatch):
    cfg, model = _build(CONFIGS['rotated'])
    unpruned = copy.deepcopy(model)
    data = synthetic_training_batch(model, 'rotated', (128, 128))
    fpn = model.neck.fpn_convs[0].conv.out_channels
    replays, traces = [], []
    replay = HistoryReplayer.replay
    monkeypatch.setattr(
        HistoryReplayer, 'replay',
        lambda self, h: replays.append(len(h)) or replay(self, h))
    build = GuardedDependencyGraph.build_dependency
    monkeypatch.setattr(
        GuardedDependencyGraph, 'build_dependency',
        lambda self, *a, **k: traces.append(1) or build(self, *a, **k))

    def prune(model):
        replays.clear()
        traces.clear()
        register_layer_pruner(
            BaseRoIExtractor, force=True)(
                _ForgetfulRoIExtractorPruner)
        try:
            return prune_model(model, data, 'l1', ratio=0.3), len(replays)
        finally:
            register_layer_pruner(
                BaseRoIExtractor, force=True)(
                    RoIExtractorPruner)

    result, tests = prune(model)
    # the search replays on the pruner's graph: one trace in all
    assert len(traces) == 1, traces
    # the search tries the groups that pruned the layer the error was
    # raised in first, and finds what bisecting alone finds, in fewer tests
    monkeypatch.setattr(model_check, 'MAX_SUSPECTS', 0)
    bisected, bisections = prune(unpruned)
    assert result.history == bisected.history
    assert [s['name'] for s in result.skipped] == \
        [s['name'] for s in bisected.skipped]
    assert tests < bisections, (tests, bisections)
    broken = [
        s for s in result.skipped
        if s['reason'].startswith('pruning its group broke')
    ]
    assert broken, result.skipped
    assert 'loss failed' in broken[0]['reason']
    # the FPN group was rolled back whole, the backbone is still pruned
    assert model.neck.fpn_convs[0].conv.out_channels == fpn
    assert model.roi_head.bbox_roi_extractor.out_channels == fpn
    assert result.params_after < 0.8 * result.params_before
    assert run_error(model, data) is None
    assert not any(h[0] == broken[0]['name'] for h in result.history)


def test_groups_that_break_the_model_one_after_another_take_a_test_each(
        monkeypatch):
    """Each stage's width group breaks its own layer norms (a layer-norm
    pruner that forgets them): the model without the first group fails
    at a later layer, which blames that group in the same test; the
    groups rolled back are those bisecting alone finds."""
    import torch_pruning as tp
    cfg, model = _build(CONFIGS['seg'])
    unpruned = copy.deepcopy(model)
    data = synthetic_training_batch(model, 'seg', (128, 128))

    def forget(self, layer, idxs):
        return layer

    norm_pruner = tp.pruner.function.LayernormPruner
    monkeypatch.setattr(norm_pruner, 'prune_out_channels', forget)
    monkeypatch.setattr(norm_pruner, 'prune_in_channels', forget)
    replays = []
    replay = HistoryReplayer.replay
    monkeypatch.setattr(
        HistoryReplayer, 'replay',
        lambda self, h: replays.append(len(h)) or replay(self, h))

    def broken(result):
        return [
            s['name'] for s in result.skipped
            if s['reason'].startswith('pruning its group broke')
        ]

    result = prune_model(model, data, 'l1', ratio=0.3)
    tests = len(replays)
    replays.clear()
    monkeypatch.setattr(model_check, 'MAX_SUSPECTS', 0)
    bisected = prune_model(unpruned, data, 'l1', ratio=0.3)
    assert len(broken(result)) >= 2, result.skipped
    assert sorted(broken(result)) == sorted(broken(bisected))
    assert result.history == bisected.history
    assert tests == len(broken(result)), (tests, broken(result))
    assert tests < len(replays)
    assert run_error(model, data) is None


class _Attention(nn.Module):

    def __init__(self):
        super().__init__()
        self.fc_in = nn.Linear(8, 16)
        self.attn = nn.MultiheadAttention(16, 2)
        self.fc_out = nn.Linear(16, 4)

    def forward(self, x):
        h = self.fc_in(x)
        return self.fc_out(self.attn(h, h, h)[0])


def test_a_group_that_fails_half_way_leaves_no_layer_pruned():
    """Torch-Pruning's attention pruner narrows the ``out_proj`` inside
    ``nn.MultiheadAttention``; a group whose pruning fails after it must
    leave that layer as it was too (DINO's decoder: a half-pruned
    ``out_proj`` broke the model, and the roll-back blamed another group
    for it)."""
    import torch_pruning as tp
    model, x = _Attention(), torch.randn(5, 1, 8)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=x)
    group = graph.get_pruning_group(model.fc_in, tp.prune_linear_out_channels,
                                    [0, 1, 2])
    order = [dep.target.module for dep, _ in group]
    assert order.index(model.attn) < order.index(model.fc_out)

    def failing(layer, idxs):
        raise TypeError('a pruner that fails')

    for dep, _ in group:
        if dep.target.module is model.fc_out:
            dep.handler = failing

    class _Pruner:

        def step(self, interactive):
            yield group

    skipped, layers = [], []
    _prune_step(_Pruner(), {model.fc_in: 'fc_in'}, skipped, PhaseClock(),
                layers)
    assert [s['name'] for s in skipped] == ['fc_in']
    assert 'pruning its group failed' in skipped[0]['reason']
    assert layers == []  # nothing pruned, nothing recorded
    assert {n: p.shape for n, p in model.named_parameters()} == shapes
    assert model(x).shape == (5, 1, 4)


def test_torch_pruning_failures_become_skipped_groups(monkeypatch):
    """An importance that crashes on one group (as Torch-Pruning's did on
    BiSeNetV2) skips that group; the rest is pruned."""
    import torch_pruning as tp
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    target = model.backbone.stage1[0].conv
    original = tp.importance.GroupMagnitudeImportance.__call__

    def flaky(self, group, *args, **kwargs):
        if any(dep.target.module is target for dep, _ in group):
            raise IndexError('list index out of range')
        return original(self, group, *args, **kwargs)

    monkeypatch.setattr(tp.importance.GroupMagnitudeImportance, '__call__',
                        flaky)
    width = target.out_channels
    result = prune_model(model, data, 'l1', ratio=0.3)
    failed = [
        s for s in result.skipped
        if 'importance estimation: IndexError' in s['reason']
    ]
    assert failed
    assert target.out_channels == width
    assert result.params_after < 0.8 * result.params_before
    assert run_error(model, data) is None


def test_a_failing_index_mapping_does_not_fail_every_group(monkeypatch):
    """Torch-Pruning maps indices through every concatenation again in
    each group search: one concatenation it cannot map (DINO's) failed all
    109 groups. It keeps the default mapping instead; a group whose
    indices that mapping sends past a layer's width is kept, and the model
    check rolls back what else it breaks."""
    from torch_pruning.dependency import index_mapping

    def unmappable(graph, node):
        raise IndexError('list index out of range')

    monkeypatch.setattr(index_mapping, 'update_concat_index_mapping',
                        unmappable)
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    assert not any('list index out of range' in s['reason']
                   for s in result.skipped)
    assert result.params_after < 0.8 * result.params_before
    assert run_error(model, data) is None


def test_an_unseen_head_name_is_protected_by_structure(tmp_path):
    """CenterNet's heatmap head is in no name list: its class output keeps
    its width because nothing consumes its channels."""
    cfg, model = _zoo(
        tmp_path, 'mmdet::centernet/'
        'centernet_r18_8xb16-crop512-140e_coco.py')
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    head = model.bbox_head
    assert head.heatmap_head[-1].out_channels == head.num_classes
    assert head.wh_head[-1].out_channels == 2
    reasons = {s['name']: s['reason'] for s in result.skipped}
    assert reasons['bbox_head.heatmap_head.2'] == STRUCTURE_REASON
    assert head.heatmap_head[0].out_channels < 64  # the rest is pruned
    assert run_error(model, data) is None


def test_train_mode_tracing_leaves_bn_statistics_unchanged():
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    model.eval()
    before = {n: b.clone() for n, b in model.named_buffers()}
    training_loss_forward(model, data)
    assert not model.training
    assert all(torch.equal(b, before[n]) for n, b in model.named_buffers())


def test_a_layer_that_runs_but_feeds_nothing_is_rolled_back(tmp_path):
    """YOLOv3's MobileNetV2 backbone runs a last conv whose output no head
    reads: Torch-Pruning leaves it out of its producer's group, and the
    model check rolls that group back instead of handing back a model
    whose forward fails."""
    cfg, model = _zoo(
        tmp_path, 'mmdet::yolo/'
        'yolov3_mobilenetv2_8xb24-320-300e_coco.py')
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    assert any(s['reason'].startswith('pruning its group broke')
               for s in result.skipped)
    conv = model.backbone.conv2.conv
    assert isinstance(conv, nn.Conv2d)
    assert run_error(model, data) is None
    assert result.params_after < result.params_before


def test_oriented_conv_pruner_maps_planes_to_channels():
    """ORConv2d takes in * nOrientation channels and gives out * nRotation:
    its pruner removes whole planes, and the pruned layer computes what
    the whole one does on the channels that remain."""
    from mmrotate.models.utils import ORConv2d

    from mmprune.core.layer_pruners import pruner_for
    torch.manual_seed(0)
    layer = ORConv2d(6, 4, arf_config=(2, 8), padding=1)
    pruner = pruner_for(layer)
    assert pruner.get_in_channels(layer) == 12
    assert pruner.get_out_channels(layer) == 32
    assert pruner.kept_out_channels_reason(layer)
    x = torch.randn(1, 12, 8, 8)
    full = layer(x)
    dropped = [2, 3]  # input plane 1 (two orientations)
    zeroed = x.clone()
    zeroed[:, dropped] = 0
    expected = layer(zeroed)
    pruner.prune_in_channels(layer, dropped)
    keep = [c for c in range(12) if c not in dropped]
    assert torch.allclose(layer(x[:, keep]), expected, atol=1e-5)
    pruner.prune_out_channels(layer, list(range(8, 16)))  # output plane 1
    out = layer(x[:, keep])
    assert out.shape[1] == 24
    kept = [c for c in range(32) if not 8 <= c < 16]
    assert torch.allclose(out, expected[:, kept], atol=1e-5)
    assert not torch.allclose(full, expected)
    with pytest.raises(ValueError, match='planes'):
        pruner.prune_out_channels(layer, [0, 1])  # part of a plane


def test_s2anet_prunes_its_fpn_through_the_oriented_conv(tmp_path):
    """S2ANet's refine head reads the FPN through a deformable alignment
    conv and an ORConv2d, and its first head only through the loss: the
    FPN is pruned with all its readers, the oriented conv keeps its
    outputs with its reason, and the model runs."""
    path = tmp_path / 's2anet.py'
    path.write_text(
        "_base_ = 'mmrotate::s2anet/s2anet-le90_r50_fpn_1x_dota.py'\n"
        "model = dict(backbone=dict(depth=18, init_cfg=None),\n"
        "             neck=dict(in_channels=[64, 128, 256, 512]))\n")
    cfg, model = _build(str(path))
    data = synthetic_training_batch(model, 'rotated', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    head = model.bbox_head_refine[0]
    align = head.feat_refine_module.deform_conv
    fpn_width = model.neck.fpn_convs[0].conv.out_channels
    assert fpn_width < 256
    assert align.weight.shape[1] == fpn_width  # the deformable conv
    assert head.or_conv.weight.shape[1] == align.weight.shape[0]
    assert head.or_conv.weight.shape[0] == 32  # its outputs kept
    reasons = {s['name']: s['reason'] for s in result.skipped}
    assert any('oriented conv' in r for r in reasons.values())
    assert not any(
        r.startswith('pruning its group broke') for r in reasons.values())
    assert run_error(model, data) is None


def test_synthetic_batch_keeps_its_size_under_batch_augments(tmp_path):
    """EfficientNet's RetinaNet pads every training batch to 896 px: a
    synthetic tracing batch keeps the asked size (tracing at 896 px was
    what took minutes and 14 GB)."""
    cfg, model = _zoo(
        tmp_path, 'mmdet::efficientnet/'
        'retinanet_effb3_fpn_8xb4-crop896-1x_coco.py')
    augments = model.data_preprocessor.batch_augments
    assert augments is not None
    data = synthetic_training_batch(model, 'det', (128, 128))
    assert tuple(data['inputs'].shape[-2:]) == (128, 128)
    assert model.data_preprocessor.batch_augments is augments  # restored


def test_group_searches_are_bounded_and_match_torch_pruning(monkeypatch):
    """The hashed group search finds what Torch-Pruning's finds; a search
    past the bound becomes a skipped group with its reason, and the rest of
    the model is still pruned."""
    import torch_pruning as tp

    from mmprune.core.tp_backend import guarded_graph
    from mmprune.core.tracing import tensor_forward
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    model.eval()

    def groups(graph_cls):
        graph = graph_cls().build_dependency(
            model, data, forward_fn=lambda m, d: tensor_forward(m, d))
        return {
            graph._module2name[g[0].dep.target.module]:
            sorted((graph._module2name.get(dep.target.module, ''),
                    dep.handler.__name__,
                    tuple(sorted(tp._helpers.to_plain_idxs(idxs))))
                   for dep, idxs in g)
            for g in graph.get_all_groups()
        }

    stock = groups(tp.DependencyGraph)
    assert groups(guarded_graph.GuardedDependencyGraph) == stock
    monkeypatch.setattr(guarded_graph, 'MAX_GROUP_ENTRIES', 12)
    result = prune_model(model, data, 'l1', ratio=0.3)
    bounded = [
        s for s in result.skipped if 'without converging' in s['reason']
    ]
    assert bounded and len(bounded) < len(stock)
    assert result.params_after < result.params_before
    assert run_error(model, data) is None


def test_structure_runs_are_bounded_and_restored():
    """The trace and the model check run a two-stage detector's RoI heads
    on at most 64 RoIs per image (the configs' 1000 proposals made the
    unpruned Double Heads' check alone 36 s and 4.3 GB); the settings come
    back afterwards and a real run still sees its own."""
    from mmprune.core.model_family import bounded_structure_runs
    cfg, model = _build(CONFIGS['rotated'])
    data = synthetic_training_batch(model, 'rotated', (128, 128))
    rpn_test, sampler = model.rpn_head.test_cfg, model.roi_head.bbox_sampler
    before = (rpn_test.max_per_img, sampler.num,
              model.train_cfg.rpn_proposal.max_per_img)
    assert min(before) > 64
    seen = []
    handle = model.roi_head.bbox_roi_extractor.register_forward_hook(
        lambda m, args, out: seen.append(out.shape[0]))
    try:
        assert run_error(model, data) is None
        assert seen and max(seen) <= 64 * 2 + 4, seen  # 2 images (+ gts)
        with bounded_structure_runs(model):
            assert rpn_test.max_per_img == 64 and sampler.num == 64
        seen.clear()
        model.eval()
        with torch.no_grad():
            model(data['inputs'], data['data_samples'], mode='tensor')
    finally:
        handle.remove()
    assert (rpn_test.max_per_img, sampler.num,
            model.train_cfg.rpn_proposal.max_per_img) == before
    assert max(seen) > 64 * 2  # outside the structure runs: the config's


def test_the_tensor_forward_reuses_what_predict_computed():
    """In the check, the tensor forward is given the backbone's, neck's and
    head's outputs that predict computed on the same batch (its own code
    still runs); alone, or with other inputs, the layers run again."""
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    runs = []
    forward = model.backbone.forward
    model.backbone.forward = lambda *a, **k: runs.append(1) or forward(*a, **k)
    try:
        assert run_error(model, data, ('predict', 'tensor forward')) is None
        assert len(runs) == 1
        assert run_error(model, data, ('tensor forward', )) is None
        assert len(runs) == 2
    finally:
        del model.backbone.forward
    layer = nn.Linear(2, 2)
    x, y = torch.ones(1, 2), torch.ones(1, 2)
    with torch.no_grad(), reused_outputs([layer]):
        assert layer(x) is layer(x)
        assert layer(y) is not layer(x)  # equal values, another tensor
        first = layer(x)
        x.add_(1)  # edited in place: another input
        assert not torch.equal(layer(x), first)
    assert 'forward' not in vars(layer)  # put back


def test_detr_queries_picked_from_the_encoder_are_capped_in_structure_runs(
        tmp_path):
    """DDQ-DETR picks its 900 matching queries (and 1.5 times as many
    dense ones) from the encoder's output, and no parameter holds their
    count: the trace and the model check run 30, through the same layers
    (the decoder's self-attention over all of them was most of the
    prune's time). DINO's query embedding holds its count: it stays."""
    from mmprune.core.model_family import bounded_structure_runs
    cfg, model = _zoo(tmp_path,
                      'mmdet::ddq/ddq-detr-4scale_r50_8xb2-12e_coco.py')
    zero_non_finite_parameters(model)  # its level_embed is uninitialised
    data = synthetic_batch_of_config(model, cfg, (64, 64))
    generator = model.dn_query_generator
    assert (model.num_queries, generator.num_matching_queries) == (900, 900)
    queries = []
    handle = model.decoder.layers[0].register_forward_hook(
        lambda m, args, out: queries.append(out.shape[1]))
    try:
        with bounded_structure_runs(model):
            assert model.num_queries == generator.num_matching_queries == 30
        assert run_error(model, data) is None
        # training: denoising (10 positive and 10 negative at most),
        # matching and dense queries (900 matching uncapped)
        assert queries and max(queries) <= 20 + 30 + 45, queries
    finally:
        handle.remove()
    assert (model.num_queries, generator.num_matching_queries) == (900, 900)
    _, dino = _zoo(tmp_path, 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py')
    with bounded_structure_runs(dino):
        assert dino.num_queries == 900
        assert dino.dn_query_generator.num_matching_queries == 900


def test_ground_truth_format_follows_the_training_pipeline(tmp_path):
    """Oriented RepPoints keeps DOTA's quadrilaterals and PIDNet's loss
    reads an edge map: the synthetic batch gives each what its config's
    training pipeline would."""
    from mmprune.datasets.synthetic_batch import (ground_truth_format,
                                                  synthetic_batch_of_config)
    formats = {}
    for name, base in [('qbox', 'mmrotate::oriented_reppoints/'
                        'oriented-reppoints-qbox_r50_fpn_1x_dota.py'),
                       ('rbox', 'mmrotate::oriented_rcnn/'
                        'oriented-rcnn-le90_r50_fpn_1x_dota.py'),
                       ('edge', 'mmseg::pidnet/'
                        'pidnet-s_2xb6-120k_1024x1024-cityscapes.py')]:
        path = tmp_path / f'{name}.py'
        path.write_text(f'_base_ = {base!r}\n')
        formats[name] = ground_truth_format(Config.fromfile(str(path)))
    assert formats == dict(
        qbox=dict(box_type='qbox', edge_map=False),
        rbox=dict(box_type='rbox', edge_map=False),
        edge=dict(box_type=None, edge_map=True))
    cfg, model = _build(CONFIGS['rotated'])
    data = synthetic_training_batch(
        model, 'rotated', (64, 64), box_type='qbox')
    boxes = data['data_samples'][0].gt_instances.bboxes
    assert type(boxes).__name__ == 'QuadriBoxes' and boxes.shape[-1] == 8
    with pytest.raises(ValueError, match="box_type 'qbox'"):
        synthetic_training_batch(model, 'det', (64, 64), box_type='qbox')
    cfg, model = _build(CONFIGS['seg'])
    data = synthetic_training_batch(model, 'seg', (64, 64), edge_map=True)
    sample = data['data_samples'][0]
    seg, edge = sample.gt_sem_seg.data, sample.gt_edge_map.data
    assert edge.shape == seg.shape and 0 < edge.sum() < edge.numel()
    assert not hasattr(
        synthetic_batch_of_config(model, cfg,
                                  (64, 64))['data_samples'][0], 'gt_edge_map')


def test_replay_traces_a_model_with_uninitialised_parameters():
    """A model built and not initialised holds whatever memory its empty
    parameters got (DINO's level_embed): NaN there must not fail the
    replay's trace; the rebuilt model's values come from its checkpoint."""
    from mmprune.core.structured.pruning_history import replay_pruning_history
    cfg, model = _build(CONFIGS['det'])
    data = synthetic_training_batch(model, 'det', (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    _, fresh = _build(CONFIGS['det'])
    with torch.no_grad():
        fresh.backbone.stem[0].conv.weight[0, 0, 0, 0] = float('nan')
    replay_pruning_history(fresh, data, result.history)
    assert torch.isfinite(fresh.backbone.stem[0].conv.weight).all()
    fresh.load_state_dict(model.state_dict(), strict=True)
    assert run_error(fresh, data) is None
    # the same holds for every trace, not only the replay: pruning a
    # model built and not initialised (its loss would be NaN)
    _, unset = _build(CONFIGS['det'])
    with torch.no_grad():
        unset.neck.reduce_layers[0].conv.weight.fill_(float('nan'))
    again = prune_model(unset, data, 'l1', ratio=0.3)
    assert torch.isfinite(unset.neck.reduce_layers[0].conv.weight).all()
    assert again.history and run_error(unset, data) is None


def test_only_non_finite_parameters_are_zeroed_and_named():
    """NaN and infinities of either sign are found, even where they cancel
    in a sum; large finite values whose sum overflows are left alone."""
    from mmprune.core.tracing import zero_non_finite_parameters
    model = nn.ModuleDict(
        dict(
            nan=nn.Linear(4, 4),
            inf=nn.Linear(4, 4),
            both=nn.Linear(4, 4),
            large=nn.Linear(4, 4),
            fine=nn.Linear(4, 4)))
    with torch.no_grad():
        model['nan'].weight[1, 2] = float('nan')
        model['inf'].bias[0] = float('inf')
        model['both'].weight[0, :2] = torch.tensor(
            [float('inf'), float('-inf')])
        model['large'].weight.fill_(3e38)
    large = model['large'].weight.clone()
    garbage = zero_non_finite_parameters(model)
    assert garbage == ['nan.weight', 'inf.bias', 'both.weight']
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert model['nan'].weight[1, 2] == 0 and model['inf'].bias[0] == 0
    assert torch.equal(model['large'].weight, large)


class _BackwardFails(BaseModel):
    """Runs every forward; its loss has no graph, so backward fails."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.conv(inputs)
        if mode == 'loss':
            return dict(loss=out.sum().detach())
        return out if mode == 'tensor' else [out]


def test_a_search_checks_only_the_step_that_failed():
    """The roll-back search runs only the failing check on each prefix
    (here: the loss forward passes, so a loss failure is not this model's);
    the full check still runs every step."""
    model = _BackwardFails()
    data = dict(inputs=torch.randn(2, 3, 8, 8), data_samples=None)
    assert run_error(model, data, ('loss', 'predict', 'tensor forward')) \
        is None
    error = run_error(model, data)
    assert error.startswith('loss backward failed')
    assert search_checks(error) == ('loss backward', )
    assert run_error(model, data, search_checks(error)) == error
    assert search_checks('replaying the pruning failed: KeyError') == ()


class _FailingBackward(torch.autograd.Function):
    """A library op whose backward fails where its forward ran."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError('the library backward failed')


class _WithOp(BaseModel):

    def __init__(self, op=None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.op = op
        self.backward_runs = 0
        self.conv.weight.register_hook(self._count)

    def _count(self, *args):
        self.backward_runs += 1

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.conv(inputs)
        if self.op is not None:
            out = self.op.apply(out)
        if mode == 'loss':
            return dict(loss=out.relu().mean())
        return out if mode == 'tensor' else [out]


def test_the_backward_runs_where_it_can_fail_alone():
    """PyTorch's own derivatives run wherever their forward ran: the check
    leaves their backward out; a custom autograd Function's backward is
    run, and its failure found."""
    data = dict(inputs=torch.randn(2, 3, 8, 8), data_samples=None)
    plain = _WithOp()
    assert run_error(plain, data) is None
    assert plain.backward_runs == 0
    assert not model_check.backward_can_fail(
        plain(data['inputs'], mode='loss')['loss'])
    custom = _WithOp(_FailingBackward)
    assert model_check.backward_can_fail(
        custom(data['inputs'], mode='loss')['loss'])
    error = run_error(custom, data)
    assert error.startswith('loss backward failed: RuntimeError: the '
                            'library backward failed'), error
    assert run_error(custom, data, ('loss', 'predict', 'tensor forward')) \
        is None


def test_a_doomed_group_is_kept_as_torch_pruning_keeps_it(
        tmp_path, monkeypatch):
    """PIDNet's stem residual group maps indices past a layer's width: the
    search stops there, and the group is kept with every layer it holds,
    as when the search runs to its end and Torch-Pruning's importance
    fails on it."""
    from mmprune.core.tp_backend import guarded_graph
    cfg, model = _zoo(
        tmp_path, 'mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py')
    unstopped = copy.deepcopy(model)
    data = synthetic_batch_of_config(model, cfg, (128, 128))
    result = prune_model(model, data, 'l1', ratio=0.3)
    reasons = [s['reason'] for s in result.skipped]
    assert any('IndexPastWidthError' in r for r in reasons), reasons
    assert run_error(model, data) is None

    monkeypatch.setattr(guarded_graph.IndexedGroup, '_past_width',
                        lambda self, dep, idxs: None)
    searched = prune_model(unstopped, data, 'l1', ratio=0.3)
    assert not any('IndexPastWidthError' in s['reason']
                   for s in searched.skipped)
    assert any('importance estimation' in s['reason']
               for s in searched.skipped)
    assert searched.history == result.history
    assert searched.params_after == result.params_after
