"""Model-family knowledge in one place: each family (one file in
``mmprune/models/families``) declares its task, prediction layers, shared
RoI extractor and coupled config widths, and every part of mmprune asks
the registry."""
import pytest
from conftest import ORCNN, RTMDET, SEGFORMER
from mmengine.config import Config

import mmprune  # noqa: F401  (registries, compat shims)
from mmprune.core.model_family import (ModelFamily, coupled_width_keys,
                                       default_protected, family_of,
                                       roi_extractor_of, task_of_scope)
from mmprune.core.structured import protected_modules
from mmprune.datasets.synthetic_batch import task_of
from mmprune.models.builder import build_model_from
from mmprune.registry import MODEL_FAMILIES

ZOO = {
    'faster_rcnn': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'detr': 'mmdet::detr/detr_r50_8xb2-150e_coco.py',
}


@pytest.mark.parametrize('config,family,task,predicts', [
    (RTMDET, 'DenseDetectors', 'det', 'bbox_head.rtm_cls.0'),
    (ZOO['faster_rcnn'], 'TwoStageDetectors', 'det',
     'roi_head.bbox_head.fc_cls'),
    (ZOO['detr'], 'DETRDetectors', 'det', 'bbox_head.fc_cls'),
    (ORCNN, 'TwoStageDetectors', 'rotated', 'rpn_head.rpn_reg'),
    (SEGFORMER, 'Segmentors', 'seg', 'decode_head.conv_seg'),
])
def test_each_zoo_family_is_recognised_and_its_outputs_kept(
        tmp_path, config, family, task, predicts):
    if config.startswith('mmdet::'):  # a model-zoo config, as a base
        path = tmp_path / 'zoo.py'
        path.write_text(f'_base_ = [{config!r}]\n')
        config = str(path)
    cfg = Config.fromfile(config)
    if 'backbone' in cfg.model:
        cfg.model.backbone.init_cfg = None  # nothing is downloaded
    model = build_model_from(cfg)
    assert family_of(model).__name__ == family
    assert task_of(cfg) == task
    assert predicts in protected_modules(model)
    assert roi_extractor_of(model) == ('roi_head.bbox_roi_extractor' if family
                                       == 'TwoStageDetectors' else None)


def test_the_coupled_widths_come_from_the_families():
    assert set(coupled_width_keys()) == {
        'bbox_head.in_channels', 'rpn_head.in_channels',
        'roi_head.bbox_roi_extractor.out_channels',
        'roi_head.bbox_head.in_channels'
    }
    with pytest.raises(ValueError, match="default_scope = 'mmpose'.*mmdet"):
        task_of_scope('mmpose')


def test_a_new_family_is_one_registered_class():

    @MODEL_FAMILIES.register_module()
    class PoseEstimators(ModelFamily):
        scope = 'mmpose'
        task = 'pose'
        model_types = ('TopdownPoseEstimator', )
        prediction_layers = ('final_layer', )

    try:
        assert task_of_scope('mmpose') == 'pose'
        assert 'final_layer' in default_protected()[0]
    finally:
        MODEL_FAMILIES.module_dict.pop('PoseEstimators')
    assert 'final_layer' not in default_protected()[0]


def test_layers_whose_width_the_model_fixes_are_kept_with_why(tmp_path):
    """Conditional DETR's attention asserts that its values keep the
    embedding width: its value projections are kept before pruning, each
    with that reason, instead of being found by the model check."""
    from mmprune.core.structured.layers import kept_layers
    path = tmp_path / 'zoo.py'
    path.write_text("_base_ = ['mmdet::conditional_detr/"
                    "conditional-detr_r50_8xb2-50e_coco.py']\n"
                    'model = dict(backbone=dict(init_cfg=None))\n')
    model = build_model_from(Config.fromfile(str(path)))
    names, skipped = kept_layers(model)
    fixed = {s['name'] for s in skipped if 'v_dims' in s['reason']}
    assert fixed == {
        f'{part}.layers.{i}.{attn}.v_proj'
        for part, attns in (('encoder', ()), ('decoder', ('self_attn',
                                                          'cross_attn')))
        for i in range(6)
        for attn in attns
    }
    assert fixed <= set(names)
    # other families fix nothing
    cfg = Config.fromfile(RTMDET)
    assert not any('v_dims' in s['reason']
                   for s in kept_layers(build_model_from(cfg))[1])
