r"""How far apart segmentation models' mIoU really are on one test set: the
mIoU of each over the whole set, and the standard error of each model's
difference to the first one, from the same images split into chunks.

Reads the predictions ``tools/test.py CONFIG CKPT --out NAME.pkl`` dumps
for an mmseg model (each sample holds its prediction and its label map):

    python tools/analysis_tools/paired_miou.py \\
        original=original.pkl pruned=pruned.pkl [--control NAME] \\
        [--chunks 20]

mIoU is computed as mmseg's ``IoUMetric`` computes it (areas summed over
the images, then IoU per class, then the mean over the classes present),
once over the whole set and once per chunk. Written here because
``IoUMetric`` scores one whole dataset and keeps no per-image areas.
"""
import pickle
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmprune.analysis.paired_scores import (check_control, paired_rows,
                                            paired_table)
from mmprune.utils.cli import add_paired_run_args, paired_runs_of, tool_parser


def _label_map(sample: dict, key: str) -> np.ndarray:
    data = sample[key]
    data = data['data'] if isinstance(data, dict) else data
    return np.asarray(data).reshape(-1).astype(np.int64)


def image_areas(samples: Sequence[dict],
                ignore_index: int = 255) -> Dict[str, np.ndarray]:
    """Per image (sorted by path): the pixel areas of each class's
    intersection, prediction and label (``intersect``, ``pred``, ``label``,
    each ``images x classes``, the classes found in any label or
    prediction)."""
    pairs = []
    for s in sorted(samples, key=lambda s: s['img_path']):
        pred = _label_map(s, 'pred_sem_seg')
        label = _label_map(s, 'gt_sem_seg')
        keep = label != ignore_index
        pairs.append((pred[keep], label[keep]))
    classes = 1 + max(
        int(max(p.max(initial=0), g.max(initial=0))) for p, g in pairs)
    areas = {
        k: np.zeros((len(pairs), classes))
        for k in ('intersect', 'pred', 'label')
    }
    for i, (p, g) in enumerate(pairs):
        areas['intersect'][i] = np.bincount(g[p == g], minlength=classes)
        areas['pred'][i] = np.bincount(p, minlength=classes)
        areas['label'][i] = np.bincount(g, minlength=classes)
    return areas


def miou(areas: Dict[str, np.ndarray], images=slice(None)) -> float:
    """mmseg's mIoU (in percent) over ``images`` (an index or slice)."""
    inter = areas['intersect'][images].sum(0)
    union = areas['pred'][images].sum(0) + areas['label'][images].sum(
        0) - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return float(np.nanmean(inter / union) * 100)


def paired_mious(runs: Dict[str, str],
                 chunks: int = 20,
                 control: Optional[str] = None,
                 ignore_index: int = 255) -> List[dict]:
    """Per run: its whole-set mIoU (``score``), its chunk mIoUs, and its
    paired differences to the first run (and to ``control``), as
    :func:`mmprune.analysis.paired_scores.paired_rows` gives them."""
    check_control(control, runs)
    scores, paths = {}, None
    for name, path in runs.items():
        with open(path, 'rb') as f:
            samples = pickle.load(f)
        if not samples or 'pred_sem_seg' not in samples[0] \
                or 'gt_sem_seg' not in samples[0]:
            raise ValueError(
                f'{path}: not an mmseg dump with predictions and label '
                'maps (tools/test.py CONFIG CKPT --out NAME.pkl)')
        have = sorted(s['img_path'] for s in samples)
        if paths is None:
            paths = have
            if not 2 <= chunks <= len(paths):
                raise ValueError(f'--chunks {chunks}: must be between 2 and '
                                 f'the {len(paths)} images of {path}')
            parts = np.array_split(np.arange(len(paths)), chunks)
        elif have != paths:
            raise ValueError(
                f'{path}: its predictions cover {len(have)} images, not the '
                f'{len(paths)} of the first run: dump them with tools/'
                'test.py on the same test set')
        areas = image_areas(samples, ignore_index)
        del samples
        scores[name] = (miou(areas), [miou(areas, p) for p in parts])
    return paired_rows(scores, control)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = tool_parser(__doc__)
    add_paired_run_args(parser)
    parser.add_argument(
        '--ignore-index',
        type=int,
        default=255,
        help='the label of pixels no class is scored on')
    args = parser.parse_args(argv)
    runs = paired_runs_of(parser, args)
    try:
        rows = paired_mious(runs, args.chunks, args.control, args.ignore_index)
    except ValueError as e:
        parser.error(str(e))
    print('\n'.join(paired_table(rows, 'mIoU', args.control, digits=2)))


if __name__ == '__main__':
    sys.exit(main())
