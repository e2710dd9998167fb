r"""How far apart two detectors' bbox mAP really are on one test set: the
mAP of each over the whole set, and the standard error of each model's
difference to the first one, from the same images split into chunks.

Reads the predictions ``tools/test.py CONFIG CKPT --out NAME.pkl`` dumps and
the set's COCO annotation file:

    python tools/analysis_tools/paired_bbox_map.py ANN.json \\
        control=control.pkl pruned=pruned.pkl [--chunks 20]

The difference is paired (the same images for both models), so what the
test set's sampling adds to it is measured, not guessed; what it cannot
show is the spread between training runs, which only more runs measure.

Written on pycocotools directly because mmdet's ``CocoMetric`` scores one
whole dataset, and this scores subsets of the images with the settings it
uses (``maxDets`` 100/300/1000, mAP read at 1000).
"""
import contextlib
import io
import pickle
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmprune.analysis.paired_scores import (check_control, paired_rows,
                                            paired_table)
from mmprune.utils.cli import add_paired_run_args, paired_runs_of, tool_parser

MAX_DETS = [100, 300, 1000]  # as mmdet's CocoMetric (proposal_nums)


def detections(samples: Sequence[dict], cat_ids: Sequence[int]) -> List[dict]:
    """COCO result records from dumped mmdet data samples (boxes already
    rescaled to the original image, xyxy)."""
    out = []
    for s in samples:
        pred = s['pred_instances']
        boxes = np.asarray(pred['bboxes'], dtype=float).reshape(-1, 4)
        for (x1, y1, x2,
             y2), score, label in zip(boxes,
                                      np.asarray(pred['scores']).reshape(-1),
                                      np.asarray(pred['labels']).reshape(-1)):
            out.append(
                dict(
                    image_id=int(s['img_id']),
                    category_id=int(cat_ids[int(label)]),
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    score=float(score)))
    return out


def bbox_map(gt: COCO,
             dets: COCO,
             img_ids: Optional[Sequence[int]] = None) -> float:
    """COCO bbox mAP (IoU 0.50:0.95, all areas, 1000 detections)."""
    ev = COCOeval(gt, dets, 'bbox')
    ev.params.maxDets = list(MAX_DETS)
    if img_ids is not None:
        ev.params.imgIds = list(img_ids)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def paired_maps(ann_file: str,
                runs: Dict[str, str],
                chunks: int = 20,
                control: Optional[str] = None) -> List[dict]:
    """Per run: its whole-set mAP (``score``), its chunk mAPs, and (from
    the second on) its difference to the first run with the standard
    error of that difference over the chunks; the same against
    ``control`` (a run name) when given (see
    :func:`mmprune.analysis.paired_scores.paired_rows`)."""
    check_control(control, runs)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
    cat_ids = [c['id'] for c in gt.loadCats(gt.getCatIds())]
    img_ids = sorted(gt.getImgIds())
    if chunks < 2 or chunks > len(img_ids):
        raise ValueError(f'--chunks {chunks}: must be between 2 and the '
                         f'{len(img_ids)} images of {ann_file}')
    parts = np.array_split(np.array(img_ids), chunks)
    scores = {}
    for name, path in runs.items():
        with open(path, 'rb') as f:
            samples = pickle.load(f)
        have = {int(s['img_id']) for s in samples}
        if have != set(img_ids):
            raise ValueError(
                f'{path}: its predictions cover {len(have)} images, '
                f'{ann_file} has {len(img_ids)}: dump them with tools/'
                'test.py on the same test set')
        with contextlib.redirect_stdout(io.StringIO()):
            dets = gt.loadRes(detections(samples, cat_ids))
        scores[name] = (bbox_map(gt,
                                 dets), [bbox_map(gt, dets, p) for p in parts])
    return paired_rows(scores, control)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('ann_file', help='the test set COCO annotation json')
    add_paired_run_args(parser)
    args = parser.parse_args(argv)
    runs = paired_runs_of(parser, args)
    try:
        rows = paired_maps(args.ann_file, runs, args.chunks, args.control)
    except ValueError as e:
        parser.error(str(e))
    print('\n'.join(paired_table(rows, 'bbox mAP', args.control)))


if __name__ == '__main__':
    sys.exit(main())
