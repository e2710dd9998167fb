"""tools/analysis_tools/paired_miou.py: whole-set mIoU equal to mmseg's
IoUMetric, paired differences with their standard errors, and a dump of
another test set refused."""
import importlib.util
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'paired_miou', osp.join(REPO, 'tools/analysis_tools/paired_miou.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _samples(preds, labels):
    """mmseg data samples as tools/test.py --out dumps them (dicts of
    tensors, 1 x H x W)."""
    return [
        dict(
            img_path=f'img_{i:03d}.png',
            pred_sem_seg=dict(data=torch.as_tensor(p)[None]),
            gt_sem_seg=dict(data=torch.as_tensor(g)[None]))
        for i, (p, g) in enumerate(zip(preds, labels))
    ]


def _dump(path, samples):
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return str(path)


def test_paired_miou(tmp_path):
    pytest.importorskip('mmseg')
    from mmseg.evaluation import IoUMetric
    tool = _tool()
    rng = np.random.default_rng(0)
    n, classes = 12, 4
    labels = [rng.integers(0, classes, (16, 16)) for _ in range(n)]
    labels[0][:2] = 255  # ignored pixels
    noisy = [
        np.where(
            rng.random(g.shape) < 0.3, rng.integers(0, classes, g.shape), g)
        for g in labels
    ]
    noisy = [np.where(g == 255, 0, p) for p, g in zip(noisy, labels)]
    exact = [np.where(g == 255, 1, g) for g in labels]

    # the whole-set figure is mmseg's
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=[str(c) for c in range(classes)])
    metric.process([], _samples(noisy, labels))
    want = metric.compute_metrics(metric.results)['mIoU']
    areas = tool.image_areas(_samples(noisy, labels))
    assert tool.miou(areas) == pytest.approx(want, abs=0.01)

    runs = dict(
        exact=_dump(tmp_path / 'exact.pkl', _samples(exact, labels)),
        noisy=_dump(tmp_path / 'noisy.pkl', _samples(noisy, labels)))
    rows = tool.paired_mious(runs, chunks=3)
    assert rows[0]['score'] == pytest.approx(100.0)
    assert rows[1]['score'] == pytest.approx(want, abs=0.01)
    assert rows[1]['diff'] == pytest.approx(rows[1]['score'] - 100)
    assert rows[1]['diff_se'] > 0
    assert len(rows[1]['chunk_scores']) == 3
    rows = tool.paired_mious(runs, chunks=3, control='noisy')
    assert rows[0]['share_control'] == pytest.approx(100 / rows[1]['score'])

    short = _dump(tmp_path / 'short.pkl', _samples(exact[:5], labels[:5]))
    with pytest.raises(ValueError, match='cover 5 images'):
        tool.paired_mious(dict(exact=runs['exact'], short=short), chunks=3)
    with pytest.raises(ValueError, match="--control 'nope'"):
        tool.paired_mious(runs, control='nope')
    with pytest.raises(ValueError, match='--chunks 13'):
        tool.paired_mious(runs, chunks=13)
