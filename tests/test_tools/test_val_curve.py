"""tools/analysis_tools/val_curve.py: the validation points of the newest
run in a work dir, and a clear error for a metric it never logged."""
import importlib.util
import json
import os.path as osp

import pytest
from conftest import REPO


def _tool():
    spec = importlib.util.spec_from_file_location(
        'val_curve', osp.join(REPO, 'tools/analysis_tools/val_curve.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(work, stamp, records):
    vis = work / stamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(
        json.dumps(r) for r in records))


def test_points_of_the_newest_run(tmp_path, capsys):
    tool = _tool()
    _run(tmp_path, '20260101_000000', [{'coco/bbox_mAP': 0.9, 'epoch': 1}])
    _run(tmp_path, '20260102_000000', [
        dict(loss=1.0, epoch=1, step=10),
        {
            'coco/bbox_mAP': 0.2,
            'step': 1
        },
        dict(loss=0.5, epoch=2, step=20),
        {
            'coco/bbox_mAP': 0.3,
            'step': 2
        },
    ])
    assert tool.val_points(str(tmp_path), 'coco/bbox_mAP') == [(1, 0.2),
                                                               (2, 0.3)]
    out = tmp_path / 'curve.png'
    tool.main([str(tmp_path), '--out', str(out)])
    assert out.stat().st_size > 1000
    assert '1:0.2000 2:0.3000' in capsys.readouterr().out
    with pytest.raises(KeyError, match="no 'mIoU'.*coco/bbox_mAP"):
        tool.val_points(str(tmp_path), 'mIoU')
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.val_points(str(tmp_path / 'nothing'), 'mIoU')
