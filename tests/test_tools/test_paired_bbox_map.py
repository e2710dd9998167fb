"""tools/analysis_tools/paired_bbox_map.py: whole-set mAP equal to
COCOeval's, paired differences with their standard errors, and a dump of
another test set refused."""
import importlib.util
import json
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'paired_bbox_map',
        osp.join(REPO, 'tools/analysis_tools/paired_bbox_map.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dump(path, boxes_per_image):
    """mmdet data samples as tools/test.py --out dumps them (tensors)."""
    samples = [
        dict(
            img_id=i,
            pred_instances=dict(
                bboxes=torch.tensor(b, dtype=torch.float32).reshape(-1, 4),
                scores=torch.full((len(b), ), 0.9),
                labels=torch.zeros(len(b), dtype=torch.long)))
        for i, b in enumerate(boxes_per_image)
    ]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return str(path)


def test_paired_bbox_map(tmp_path):
    tool = _tool()
    n = 8
    gt_boxes = [[10 + i, 10, 40 + i, 50] for i in range(n)]  # xyxy
    ann = dict(
        images=[
            dict(id=i, file_name=f'{i}.png', width=64, height=64)
            for i in range(n)
        ],
        categories=[dict(id=1, name='a'),
                    dict(id=2, name='b')],
        annotations=[
            dict(
                id=i + 1,
                image_id=i,
                category_id=1,
                bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                area=(b[2] - b[0]) * (b[3] - b[1]),
                iscrowd=0) for i, b in enumerate(gt_boxes)
        ])
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    exact = _dump(tmp_path / 'exact.pkl', [[b] for b in gt_boxes])
    # every other image missed: half the objects found
    half = _dump(tmp_path / 'half.pkl',
                 [[b] if i % 2 else [] for i, b in enumerate(gt_boxes)])
    rows = tool.paired_maps(
        str(ann_file), dict(exact=exact, half=half), chunks=4)
    assert rows[0]['score'] == pytest.approx(1.0)
    assert 0 < rows[1]['score'] < 0.6
    assert rows[1]['diff'] == pytest.approx(rows[1]['score'] - 1.0)
    assert rows[1]['share'] == pytest.approx(rows[1]['score'])
    # each chunk of 2 images holds one found and one missed object: the
    # same difference everywhere, no spread
    assert rows[1]['diff_se'] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(rows[0]['chunk_scores'], 1.0)
    # a second reference: the share of it and the difference to it
    rows = tool.paired_maps(
        str(ann_file),
        dict(exact=exact, half=half, again=exact),
        chunks=4,
        control='half')
    assert rows[2]['share_control'] == pytest.approx(1 / rows[1]['score'])
    assert rows[0]['diff_control'] == pytest.approx(1 - rows[1]['score'])
    assert 'diff_control' not in rows[1]
    with pytest.raises(ValueError, match="--control 'nope'"):
        tool.paired_maps(
            str(ann_file), dict(exact=exact), chunks=4, control='nope')
    # predictions of another test set (fewer images) are refused
    short = _dump(tmp_path / 'short.pkl', [[b] for b in gt_boxes[:5]])
    with pytest.raises(ValueError, match='cover 5 images'):
        tool.paired_maps(
            str(ann_file), dict(exact=exact, short=short), chunks=4)
    with pytest.raises(ValueError, match='--chunks 1'):
        tool.paired_maps(str(ann_file), dict(exact=exact), chunks=1)
