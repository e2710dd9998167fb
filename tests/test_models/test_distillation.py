"""Distillation: losses by hand, the frozen teacher, the student's own
checkpoints through the stock tools, clear errors."""
import math
import os
import os.path as osp

import pytest
import torch
from conftest import REPO, TINY_LOADERS, run_tool, tracing_cfg
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

import mmprune  # noqa: F401
from mmprune.datasets.train_batches import tracing_batch
from mmprune.models.builder import build_model_from
from mmprune.models.distillers.weight_schedule import distill_weight_factor
from mmprune.models.losses import (BoxRegressionKDLoss, ChannelWiseDivergence,
                                   FeatureMSELoss, LogitsKDLoss, MGDLoss,
                                   PKDLoss)

RTMDET = osp.join(REPO, 'configs/rtmdet/rtmdet_tiny_12e_shapes.py')
ORCNN = osp.join(
    REPO, 'configs/oriented_rcnn/'
    'oriented-rcnn-le90_r18_fpn_4e_shapes.py')
# KL([.75, .25] || [.5, .5]) = .75 ln 1.5 + .25 ln .5
KL_75_50 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)


def test_feature_mse_by_hand():
    s = torch.tensor([[1., 2.], [3., 4.]])
    t = torch.tensor([[0., 2.], [3., 6.]])
    assert FeatureMSELoss(loss_weight=2.0)(s, t).item() == \
        pytest.approx(2.0 * (1 + 4) / 4)
    loss = FeatureMSELoss()
    loss.build_adapter(2, 3, spatial=True)  # 1x1 conv 2 -> 3 channels
    with torch.no_grad():
        loss.adapter.weight.zero_()
        loss.adapter.bias.fill_(1.0)
    out = loss(torch.randn(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))
    assert out.item() == pytest.approx(1.0)


def test_channel_wise_divergence_by_hand():
    s = torch.tensor([0., 0.]).reshape(1, 1, 1, 2)
    t = torch.tensor([math.log(3.), 0.]).reshape(1, 1, 1, 2)
    assert ChannelWiseDivergence()(s, t).item() == pytest.approx(KL_75_50)
    # two channels, one identical: the mean over N * C halves it
    s2, t2 = torch.cat([s, t], 1), torch.cat([t, t], 1)
    assert ChannelWiseDivergence()(s2, t2).item() == \
        pytest.approx(KL_75_50 / 2)
    with pytest.raises(ValueError, match='tau'):
        ChannelWiseDivergence(tau=0)


def test_logits_kd_by_hand():
    s = torch.tensor([[0., 0.]])
    t = torch.tensor([[2 * math.log(3.), 0.]])  # / tau 2 -> [ln 3, 0]
    assert LogitsKDLoss(tau=2.0)(s, t).item() == \
        pytest.approx(4 * KL_75_50)
    # segmentation-shaped logits (N, C, H, W): averaged over pixels
    seg_s = s.reshape(1, 2, 1, 1).expand(1, 2, 2, 2)
    seg_t = torch.cat(
        [t.reshape(1, 2, 1, 1), s.reshape(1, 2, 1, 1)], 3).expand(1, 2, 2, 2)
    assert LogitsKDLoss(tau=2.0)(seg_s, seg_t).item() == \
        pytest.approx(4 * KL_75_50 / 2)
    # sigmoid heads: each logit a Bernoulli, sigmoid(ln 3) = .75
    sig = LogitsKDLoss(use_sigmoid=True, loss_weight=3.0)
    assert sig(torch.zeros(1, 1), torch.full((1, 1), math.log(3.))).item() \
        == pytest.approx(3.0 * KL_75_50)


def test_box_regression_kd_by_hand():
    s, t = torch.tensor([0.5, 2.0]), torch.zeros(2)
    assert BoxRegressionKDLoss(beta=1.0)(s, t).item() == \
        pytest.approx((0.5 * 0.25 + 1.5) / 2)
    assert BoxRegressionKDLoss(beta=0.0)(s, t).item() == \
        pytest.approx((0.25 + 4) / 2)


def test_pkd_by_hand():
    """Half the MSE of per-channel standardised maps: (M-1)/M * (1 - r)
    for each channel's Pearson r over the M = N*H*W values (std is the
    unbiased one), averaged over channels."""
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    m = 2 * 4 * 5
    expected = 0.0
    for c in range(3):
        a, b = s[:, c].flatten(), t[:, c].flatten()
        r = torch.corrcoef(torch.stack([a, b]))[0, 1].item()
        expected += (m - 1) / m * (1 - r) / 3
    assert PKDLoss(loss_weight=2.0)(s, t).item() == \
        pytest.approx(2.0 * expected, rel=1e-4)
    # magnitudes do not matter: a channel scaled and shifted is the same
    scaled = s * torch.tensor([3., .1, 10.]).view(1, 3, 1, 1) + 5
    assert PKDLoss()(scaled, t).item() == pytest.approx(expected, rel=1e-4)
    assert PKDLoss()(t, t).item() == pytest.approx(0.0, abs=1e-6)
    # a student map of another size is resized to the teacher's
    small = torch.nn.functional.interpolate(t, (2, 3), mode='bilinear')
    assert PKDLoss()(small, t).item() < PKDLoss()(torch.randn(2, 3, 2, 3),
                                                  t).item()
    with pytest.raises(ValueError, match='PKDLoss expects'):
        PKDLoss()(torch.randn(2, 3), torch.randn(2, 3))


def test_mgd_by_hand():
    """loss_weight * sum((G(mask * adapter(s)) - t)^2) / N with G two 3x3
    convs and a ReLU at the teacher's width; one random mask per image,
    shared by the channels."""
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 6, 6), torch.randn(2, 3, 6, 6)
    loss = MGDLoss(loss_weight=1e-2, mask_ratio=0.5)
    assert loss.fit_widths(4, 3, spatial=True)  # adapter 4->3, generator
    assert not loss.fit_widths(4, 3, spatial=True)  # already that size
    torch.manual_seed(7)
    value = loss(s, t)
    torch.manual_seed(7)
    mask = (torch.rand(2, 1, 6, 6) >= 0.5).float()
    a, g = loss.adapter, loss.generator
    x = torch.nn.functional.conv2d(s, a.weight, a.bias) * mask
    x = torch.nn.functional.conv2d(x, g[0].weight, g[0].bias, padding=1)
    x = torch.nn.functional.conv2d(
        x.clamp(min=0), g[2].weight, g[2].bias, padding=1)
    assert value.item() == pytest.approx(
        1e-2 * ((x - t)**2).sum().item() / 2, rel=1e-5)
    big = loss.random_mask(torch.zeros(4, 8, 64, 64))
    assert big.shape == (4, 1, 64, 64)
    assert 0.45 < 1 - big.mean().item() < 0.55  # the masked share
    # same widths: no adapter, but still a generator
    same = MGDLoss()
    same.fit_widths(3, 3, spatial=True)
    assert same.adapter is None and same.generator is not None
    with pytest.raises(RuntimeError, match='generator is not built'):
        MGDLoss()(t, t)
    with pytest.raises(ValueError, match='mask_ratio'):
        MGDLoss(mask_ratio=1.0)


def test_distill_weight_schedule():
    assert distill_weight_factor(0, warmup_iters=4) == 0.25
    assert distill_weight_factor(3, warmup_iters=4) == 1.0
    f = dict(decay_start=10, decay_end=20, final_factor=0.2)
    assert distill_weight_factor(9, **f) == 1.0
    assert distill_weight_factor(15, **f) == pytest.approx(0.6)
    assert distill_weight_factor(40, **f) == pytest.approx(0.2)
    # distillation stopped for the last part of training
    stop = dict(decay_start=30, decay_end=30, final_factor=0.0)
    assert distill_weight_factor(29, **stop) == 1.0
    assert distill_weight_factor(30, **stop) == 0.0


def _student_cfg(path: str, **neck) -> dict:
    model = dict(Config.fromfile(path).model)
    if neck:
        model['neck'] = dict(model['neck'], **neck)
        model['bbox_head'] = dict(
            model['bbox_head'],
            in_channels=neck['out_channels'],
            feat_channels=neck['out_channels'])
    return model


RTM_LOSSES = dict(
    neck=dict(type='mmprune.FeatureMSELoss', student='neck', teacher='neck'),
    cls=dict(
        type='mmprune.LogitsKDLoss',
        student='bbox_head.rtm_cls',
        teacher='bbox_head.rtm_cls',
        use_sigmoid=True),
    reg=dict(
        type='mmprune.BoxRegressionKDLoss',
        student='bbox_head.rtm_reg',
        teacher='bbox_head.rtm_reg'))


def _distiller(config, student, losses, **kw):
    kw.setdefault('teacher_config', config)
    with DefaultScope.overwrite_default_scope(
            Config.fromfile(config).default_scope):
        return ROOT_MODELS.build(
            dict(
                type='mmprune.Distiller',
                student=student,
                distill_losses=losses,
                probe_shape=(128, 128),
                **kw))


@pytest.fixture(scope='module')
def rtm_teacher_ckpt(tmp_path_factory):
    teacher = build_model_from(Config.fromfile(RTMDET))
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    torch.save(dict(meta={}, state_dict=teacher.state_dict()), path)
    return path


def test_teacher_is_frozen_and_never_saved(rtm_teacher_ckpt):
    d = _distiller(
        RTMDET,
        _student_cfg(RTMDET, out_channels=64),
        RTM_LOSSES,
        teacher_checkpoint=rtm_teacher_ckpt)
    teacher_params = {id(p) for p in d.teacher.parameters()}
    assert not teacher_params & {id(p) for p in d.parameters()}
    # the teacher's weights are the checkpoint's
    saved = torch.load(rtm_teacher_ckpt, weights_only=True)['state_dict']
    for k, v in d.teacher.state_dict().items():
        assert torch.equal(v, saved[k])
    # 64-channel student neck vs 96-channel teacher: a 1x1 adapter
    assert d.distill_losses['neck'].adapter.weight.shape[:2] == (96, 64)
    # the optimizer sees the student and the adapter, nothing of the teacher
    optim = build_optim_wrapper(d, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    in_optim = {
        id(p)
        for g in optim.optimizer.param_groups
        for p in g['params']
    }
    assert in_optim == {id(p) for p in d.parameters()}
    assert not in_optim & teacher_params

    cfg = tracing_cfg(
        RTMDET,
        osp.join(osp.dirname(rtm_teacher_ckpt), 'data'),
        num_images=4,
        img_size=128)
    data = tracing_batch(cfg, d.student)
    d.train()
    assert not d.teacher.training  # always eval: BN statistics frozen
    before = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    losses = d(data['inputs'], data['data_samples'], mode='loss')
    assert {'loss_distill_neck', 'loss_distill_cls',
            'loss_distill_reg'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss_distill'))
    total.backward()
    assert all(p.grad is None for p in d.teacher.parameters())
    assert d.distill_losses['neck'].adapter.weight.grad is not None
    assert d.student.neck.out_convs[0].conv.weight.grad is not None
    for k, v in d.teacher.state_dict().items():  # running stats untouched
        assert torch.equal(v, before[k]), k

    # the checkpoint holds the student's own key names (and the adapter)
    state = d.state_dict()
    student_keys = set(build_model_from(cfg).state_dict())
    assert {k for k in state if not k.startswith('distill_losses.')} == \
        student_keys
    assert not any('teacher' in k for k in state)
    fresh = _distiller(RTMDET, _student_cfg(RTMDET, out_channels=64),
                       RTM_LOSSES)
    fresh.load_state_dict(state)  # and loads back into a Distiller
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, state[k])


def test_two_stage_roi_logits_pair_on_the_student_rois(tmp_path):
    losses = dict(
        rpn=dict(
            type='mmprune.LogitsKDLoss',
            student='rpn_head.rpn_cls',
            teacher='rpn_head.rpn_cls',
            use_sigmoid=True),
        roi_cls=dict(
            type='mmprune.LogitsKDLoss',
            student='roi_head.bbox_head.fc_cls',
            teacher='roi_head.bbox_head.fc_cls',
            tau=2.0),
        roi_reg=dict(
            type='mmprune.BoxRegressionKDLoss',
            student='roi_head.bbox_head.fc_reg',
            teacher='roi_head.bbox_head.fc_reg'))
    cfg = tracing_cfg(ORCNN, tmp_path / 'data', num_images=4)
    d = _distiller(ORCNN, dict(cfg.model), losses)
    assert d.align_rois
    seen = {}

    def shape_of(who):

        def hook(module, args, out):
            seen.setdefault(who, out.shape)

        return hook

    for who, model in (('student', d.student), ('teacher', d.teacher)):
        model.roi_head.bbox_head.fc_cls.register_forward_hook(shape_of(who))
    data = tracing_batch(cfg, d.student)
    d.train()
    out = d(data['inputs'], data['data_samples'], mode='loss')
    # the teacher scored exactly the student's sampled RoIs (512 / image)
    assert seen['teacher'] == seen['student'] and seen['student'][0] > 0
    for k in ('loss_distill_rpn', 'loss_distill_roi_cls',
              'loss_distill_roi_reg'):
        assert torch.isfinite(out[k]) and out[k] > 0


@pytest.mark.parametrize('losses, message', [
    (dict(
        x=dict(type='mmprune.FeatureMSELoss', student='neck', teacher='nekc')),
     r'\(teacher\): "nekc" is not a module'),
    (dict(
        x=dict(
            type='mmprune.FeatureMSELoss',
            student='bbox_head.fc9',
            teacher='neck')), r'\(student\): "bbox_head.fc9" is not a module'),
    (dict(x=dict(type='mmprune.FeatureMSELoss', teacher='neck')),
     r"distill_losses.x: missing \['student'\]"),
])
def test_unknown_modules_are_clear_errors(losses, message):
    with pytest.raises(ValueError, match=message):
        _distiller(RTMDET, _student_cfg(RTMDET), losses)


def test_missing_teacher_checkpoint_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match='teacher_checkpoint'):
        _distiller(
            RTMDET,
            _student_cfg(RTMDET),
            RTM_LOSSES,
            teacher_checkpoint='no/such/teacher.pth')


_TINY_KD = '_base_ = {base!r}\n' + TINY_LOADERS + '''
train_cfg = dict(max_epochs={epochs}, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
'''


def test_distilled_checkpoints_through_the_stock_tools(tmp_path,
                                                       rtm_teacher_ckpt):
    student = tmp_path / 'student.py'
    student.write_text(
        _TINY_KD.format(base=RTMDET, epochs=1) +
        'model = dict(neck=dict(out_channels=64), bbox_head='
        'dict(in_channels=64, feat_channels=64))\n')

    def kd(epochs):
        path = tmp_path / f'kd_{epochs}.py'
        path.write_text(
            f'_base_ = {str(student)!r}\n'
            f'train_cfg = dict(max_epochs={epochs})\n'
            'model = dict(_delete_=True, type="mmprune.Distiller",\n'
            '    student={{_base_.model}},\n'
            f'    teacher_config={RTMDET!r},\n'
            f'    teacher_checkpoint={rtm_teacher_ckpt!r},\n'
            f'    distill_losses={RTM_LOSSES!r},\n'
            '    distill_weight_schedule=dict(warmup_iters=2),\n'
            '    probe_shape=(128, 128))\n')
        return str(path)

    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', kd(1), '--work-dir', work])
    assert 'loss_distill_neck' in proc.stdout + proc.stderr
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    assert not any('teacher' in k for k in ckpt['state_dict'])
    assert any(k.startswith('neck.') for k in ckpt['state_dict'])
    # the student's plain config evaluates the distilled student
    proc = run_tool([
        'tools/test.py',
        str(student),
        osp.join(work, 'epoch_1.pth'), '--work-dir', work
    ])
    log = proc.stdout + proc.stderr
    assert 'coco/bbox_mAP' in log or 'results of the whole dataset is ' \
        'empty' in log
    assert 'missing keys in source state_dict' not in log
    # and a resume into a longer schedule continues the distillation
    proc = run_tool(['tools/train.py', kd(2), '--work-dir', work, '--resume'])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    last = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)
    assert last['meta']['iter'] == 4
    assert set(last['state_dict']) == set(ckpt['state_dict'])


_PRUNED_STUDENT = '_base_ = {base!r}\n' + TINY_LOADERS + '''
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
         update_buffers=True, priority=49),
    dict(type='mmprune.StructuredPruningHook', method='l1', ratio=0.5,
         measure_latency=False)]
'''

_PRUNE_AND_DISTIL = '''_base_ = {student!r}
train_cfg = dict(max_epochs={epochs})
load_from = {load_from!r}
model = dict(
    _delete_=True, type='mmprune.Distiller', student={{{{_base_.model}}}},
    distill_losses=dict(
        neck=dict(type='mmprune.PKDLoss', student='neck'),
        cls=dict(type='mmprune.LogitsKDLoss', student='bbox_head.rtm_cls',
                 use_sigmoid=True)),
    probe_shape=(128, 128))
'''


def _run(path, work, **kw):
    from mmengine.runner import Runner
    cfg = Config.fromfile(path)
    cfg.work_dir = work
    cfg.update(kw)
    return Runner.from_cfg(cfg)


def test_prune_and_distil_from_the_unpruned_self(tmp_path, rtm_teacher_ckpt):
    """One config: the student is pruned at iteration 0, the teacher is the
    model of load_from, unpruned; adapters follow the pruned widths and
    join the optimizer; resume and the student's own config work."""
    student = tmp_path / 'student.py'
    student.write_text(_PRUNED_STUDENT.format(base=RTMDET))

    def kd(epochs):
        path = tmp_path / f'prune_kd_{epochs}.py'
        path.write_text(
            _PRUNE_AND_DISTIL.format(
                student=str(student),
                epochs=epochs,
                load_from=rtm_teacher_ckpt))
        return str(path)

    work = str(tmp_path / 'work')
    runner = _run(kd(1), work)
    runner.train()
    distiller = runner.model
    saved = torch.load(rtm_teacher_ckpt, weights_only=True)['state_dict']
    # the teacher is the unpruned model of load_from
    for k, v in distiller.teacher.state_dict().items():
        assert torch.equal(v, saved[k]), k
    neck_out = distiller.student.neck.out_convs[0].conv.out_channels
    assert neck_out < 96  # the student's neck was pruned ...
    adapter = distiller.distill_losses['neck'].adapter
    assert tuple(adapter.weight.shape[:2]) == (96, neck_out)  # ... adapted
    in_optim = {
        id(p)
        for g in runner.optim_wrapper.optimizer.param_groups
        for p in g['params']
    }
    assert in_optim == {id(p) for p in distiller.parameters()}
    assert id(adapter.weight) in in_optim
    # and was stepped: the optimizer holds state for it
    assert adapter.weight in runner.optim_wrapper.optimizer.state
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook'][0]
    assert _shapes_of(ema.ema_model.module.state_dict()) == \
        _shapes_of(distiller.state_dict())
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    assert 'distill_teacher' in ckpt and ckpt['pruning']['history']
    assert _shapes_of(ckpt['distill_teacher']) == _shapes_of(saved)
    assert not any('teacher' in k for k in ckpt['state_dict'])
    log = open(runner.logger.log_file).read()
    assert 'loss_distill_neck' in log and 'loss_distill_cls' in log
    assert 'adapters sized for the pruned student: neck' in log

    # the student's own config tests the pruned, distilled student
    tester = _run(
        str(student), work + '_test', load_from=osp.join(work, 'epoch_1.pth'))
    tester.test()  # (random weights: no box passes the score threshold)
    assert tester.model.neck.out_convs[0].conv.out_channels == neck_out

    # a resume into a longer schedule gets the teacher back from the
    # checkpoint, not from the (pruned) student
    resumed = _run(kd(2), work, resume=True, load_from=None)  # as --resume
    resumed.train()
    assert resumed.iter == 4
    for k, v in resumed.model.teacher.state_dict().items():
        assert torch.equal(v, saved[k]), k
    last = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)
    assert set(last['state_dict']) == set(ckpt['state_dict'])
    assert 'teacher restored from the checkpoint' in open(
        resumed.logger.log_file).read()


def _shapes_of(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def test_a_self_teacher_without_pruning_hook_is_a_clear_error():
    d = _distiller(
        RTMDET,
        dict(Config.fromfile(RTMDET).model),
        dict(neck=dict(type='mmprune.PKDLoss', student='neck')),
        teacher_config=None)
    assert d.teacher_waits_for_student
    with pytest.raises(RuntimeError, match='the teacher has no weights'):
        d.loss(torch.zeros(1, 3, 64, 64), [])
    # a student that is already pruned (a pruned load_from) cannot be its
    # own unpruned teacher: said, with the way out
    conv = d.student.neck.out_convs[0].conv
    conv.weight = torch.nn.Parameter(conv.weight[:48].detach().clone())
    with pytest.raises(
            RuntimeError, match='already pruned.*give '
            'teacher_checkpoint'):
        d.take_teacher_from_student()


def test_shipped_prune_and_distil_configs_build():
    """RTMDet-tiny, Oriented R-CNN R18, SegFormer-b0: a Distiller whose
    teacher is the student before pruning, beside a pruning hook."""
    root = osp.join(REPO, 'configs/distillation')
    paths = sorted(
        osp.join(root, f) for f in os.listdir(root) if '-self_' in f)
    families = {osp.basename(p).split('_')[0] for p in paths}
    assert families == {'rtmdet', 'oriented-rcnn-le90', 'segformer'}
    for path in paths:
        cfg = Config.fromfile(path)
        assert [
            h for h in cfg.custom_hooks
            if h['type'] == 'mmprune.StructuredPruningHook'
        ], path
        assert cfg.load_from, path  # the teacher comes from it
        model = dict(cfg.model, probe_shape=(128, 128))
        if cfg.get('data_preprocessor') is not None:
            # as mmengine's Runner builds it (mmseg configs have one)
            model.setdefault('data_preprocessor', cfg.data_preprocessor)
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            d = ROOT_MODELS.build(model)
        assert d.teacher_waits_for_student, path
        assert all(loss.adapter is None for loss in d.distill_losses.values()
                   if hasattr(loss, 'adapter')), path  # same widths
