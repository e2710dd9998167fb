"""Shapes data read back by the stock dataset classes and scored by the
stock metrics: a perfect prediction scores 1.0, an empty one 0.0."""
import filecmp
import os
import os.path as osp

import pytest
import torch

import mmprune  # noqa: F401
from mmprune.datasets.shapes import (META_FILE, SHAPE_CLASSES,
                                     NotAShapesDatasetError, ShapesSpec,
                                     prepare_shapes_dataset, render_scene)

SPEC = dict(
    num_images=6,
    img_size=128,
    min_object_size=16,
    max_object_size=48,
    split='val',
    seed=1)


def _spec(**kw) -> ShapesSpec:
    return ShapesSpec(**dict(SPEC, **kw))


def _samples(dataset):
    return [dataset[i]['data_samples'] for i in range(len(dataset))]


def test_generation_is_deterministic(tmp_path):
    a = prepare_shapes_dataset(str(tmp_path / 'a'), 'seg', _spec())
    b = prepare_shapes_dataset(str(tmp_path / 'b'), 'seg', _spec())
    for sub in ('images', 'labels'):
        names = sorted(os.listdir(osp.join(a, sub)))
        assert names == sorted(os.listdir(osp.join(b, sub)))
        match, mismatch, errors = filecmp.cmpfiles(
            osp.join(a, sub), osp.join(b, sub), names, shallow=False)
        assert not mismatch and not errors
    other = render_scene(_spec(seed=2), 0)[0]
    assert not (other == render_scene(_spec(), 0)[0]).all()


def test_scenes_have_several_classes_and_occlusion():
    import cv2
    import numpy as np
    spec = ShapesSpec(
        num_images=40,
        img_size=128,
        min_object_size=16,
        max_object_size=56,
        split='train')
    labels, occluded = set(), 0
    for i in range(spec.num_images):
        _, objects = render_scene(spec, i)
        assert spec.min_objects <= len(objects) <= spec.max_objects
        for o in objects:
            labels.add(o.label)
            full = np.zeros(o.visible.shape, np.uint8)
            cv2.fillPoly(full, [np.round(o.outline).astype(np.int32)], 1)
            seen = o.visible.sum() / full.sum()
            assert seen >= 1 - spec.max_occlusion - 1e-6
            occluded += int(seen < 0.95)
    assert labels == set(range(len(SHAPE_CLASSES)))
    assert occluded > 0


def test_coco_read_by_cocodataset_and_scored_by_cocometric(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations, PackDetInputs
    from mmdet.evaluation import CocoMetric
    root = prepare_shapes_dataset(str(tmp_path / 'coco'), 'coco', _spec())
    dataset = CocoDataset(
        data_root=root,
        ann_file='annotation.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=SHAPE_CLASSES),
        test_mode=True,
        # the transforms themselves, not registry names: the suite's
        # workers run modules in any order, and one of them left the
        # registry lookup of mmdet's transforms failing
        pipeline=[
            LoadImageFromFile(),
            LoadAnnotations(with_bbox=True, with_mask=True),
            PackDetInputs()
        ])
    assert len(dataset) == SPEC['num_images']
    samples = _samples(dataset)
    n_objects = sum(
        len(render_scene(_spec(), i)[1]) for i in range(SPEC['num_images']))
    assert sum(len(s.gt_instances) for s in samples) == n_objects

    def score(predict_empty: bool) -> dict:
        metric = CocoMetric(
            ann_file=osp.join(root, 'annotation.json'), metric='bbox')
        metric.dataset_meta = dataset.metainfo
        results = []
        for s in samples:
            gt = s.gt_instances
            keep = slice(0, 0) if predict_empty else slice(None)
            results.append(
                dict(
                    img_id=s.img_id,
                    ori_shape=s.ori_shape,
                    pred_instances=dict(
                        bboxes=gt.bboxes.tensor[keep],
                        scores=torch.ones(len(gt))[keep],
                        labels=gt.labels[keep])))
        metric.process({}, results)
        return metric.evaluate(len(results))

    def score_missing_everything() -> float:
        """One 1x1 box per image in a corner no object reaches."""
        metric = CocoMetric(
            ann_file=osp.join(root, 'annotation.json'), metric='bbox')
        metric.dataset_meta = dataset.metainfo
        metric.process({}, [
            dict(
                img_id=s.img_id,
                ori_shape=s.ori_shape,
                pred_instances=dict(
                    bboxes=torch.tensor([[0., 0., 1., 1.]]),
                    scores=torch.ones(1),
                    labels=torch.zeros(1).long())) for s in samples
        ])
        return metric.evaluate(len(samples))['coco/bbox_mAP']

    assert score(False)['coco/bbox_mAP'] == pytest.approx(1.0)
    assert score_missing_everything() == pytest.approx(0.0)
    # stock behaviour: no detections at all -> no score (logged as empty)
    assert 'coco/bbox_mAP' not in score(True)


def test_dota_read_by_dotadataset_and_scored_by_dotametric(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations, PackDetInputs
    from mmrotate.datasets import DOTADataset
    from mmrotate.datasets.transforms import ConvertBoxType
    from mmrotate.evaluation import DOTAMetric
    root = prepare_shapes_dataset(str(tmp_path / 'dota'), 'dota', _spec())
    dataset = DOTADataset(
        data_root=root,
        ann_file='labelTxt/',
        data_prefix=dict(img_path='images/'),
        img_shape=(128, 128),
        metainfo=dict(classes=SHAPE_CLASSES),
        test_mode=True,
        pipeline=[
            LoadImageFromFile(),
            LoadAnnotations(with_bbox=True, box_type='qbox'),
            ConvertBoxType(box_type_mapping=dict(gt_bboxes='rbox')),
            PackDetInputs()
        ])
    assert len(dataset) == SPEC['num_images']
    samples = _samples(dataset)
    objects = {
        f'{i:06d}': render_scene(_spec(), i)[1]
        for i in range(SPEC['num_images'])
    }
    for s in samples:
        gt = s.gt_instances
        want = objects[s.img_id]
        assert len(gt) == len(want)
        # the generator's oriented boxes (corners are written to 0.1 px)
        areas = sorted(float(b[2] * b[3]) for b in gt.bboxes.tensor)
        assert areas == pytest.approx(
            sorted(o.obox[2] * o.obox[3] for o in want), rel=3e-2)

    def score(predict_empty: bool) -> float:
        metric = DOTAMetric(metric='mAP')
        metric.dataset_meta = dataset.metainfo
        results = []
        for s in samples:
            gt = s.gt_instances
            keep = slice(0, 0) if predict_empty else slice(None)
            d = s.to_dict()
            d['pred_instances'] = dict(
                bboxes=gt.bboxes.tensor[keep],
                scores=torch.ones(len(gt))[keep],
                labels=gt.labels[keep])
            results.append(d)
        metric.process({}, results)
        return metric.evaluate(len(results))['dota/mAP']

    assert score(False) == pytest.approx(1.0)
    assert score(True) == pytest.approx(0.0)


def test_seg_read_by_basesegdataset_and_scored_by_ioumetric(tmp_path):
    from mmseg.datasets import BaseSegDataset
    from mmseg.evaluation import IoUMetric
    root = prepare_shapes_dataset(str(tmp_path / 'seg'), 'seg', _spec())
    dataset = BaseSegDataset(
        data_root=root,
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=('background', ) + SHAPE_CLASSES),
        pipeline=[
            dict(type='mmseg.LoadImageFromFile'),
            dict(type='mmseg.LoadAnnotations'),
            dict(type='mmseg.PackSegInputs')
        ])
    assert len(dataset) == SPEC['num_images']
    samples = _samples(dataset)
    present = set()
    for s in samples:
        present |= set(s.gt_sem_seg.data.unique().tolist())
    assert 0 in present and len(present) >= 3

    def score(predict_empty: bool) -> float:
        metric = IoUMetric(iou_metrics=['mIoU'])
        metric.dataset_meta = dataset.metainfo
        results = []
        for s in samples:
            gt = s.gt_sem_seg.data
            pred = torch.full_like(gt, 255) if predict_empty else gt.clone()
            d = s.to_dict()
            d['pred_sem_seg'] = dict(data=pred)
            results.append(d)
        metric.process({}, results)
        return metric.evaluate(len(results))['mIoU']

    assert score(False) == pytest.approx(100.0)  # mmseg reports percent
    assert score(True) == pytest.approx(0.0)


def test_folder_that_is_not_a_shapes_dataset(tmp_path):
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'photo.png').write_bytes(b'x')
    with pytest.raises(NotAShapesDatasetError, match=META_FILE):
        prepare_shapes_dataset(str(tmp_path / 'mine'), 'coco', _spec())


def test_folder_made_with_other_settings(tmp_path):
    root = str(tmp_path / 'd')
    prepare_shapes_dataset(root, 'coco', _spec())
    with pytest.raises(NotAShapesDatasetError, match='num_images'):
        prepare_shapes_dataset(root, 'coco', _spec(num_images=7))
    with pytest.raises(NotAShapesDatasetError, match='format'):
        prepare_shapes_dataset(root, 'dota', _spec())


def test_bad_spec_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown classes'):
        ShapesSpec(classes=('rectangle', 'dragon'))
    with pytest.raises(TypeError, match='ShapesCocoDataset.shapes'):
        from mmprune.datasets import ShapesCocoDataset
        ShapesCocoDataset(data_root='/tmp/x', shapes=dict(sizes=3))
