r"""The validation curve of a training run: each validation's metric
against its epoch (or iteration), read from the ``vis_data/scalars.json``
mmengine writes in the work dir; printed, and plotted with ``--out``.
Whether a baseline has converged reads off it: the metric stops rising.

    python tools/analysis_tools/val_curve.py WORK_DIR \
        [--metric coco/bbox_mAP] [--out curve.png]

(mmdet's ``analyze_logs.py plot_curve`` does this for mmdet logs, and needs
seaborn; this works for any OpenMMLab run with the pinned stack.)
"""
import glob
import json
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

from mmprune.utils import atomic_write
from mmprune.utils.cli import tool_parser
from mmprune.utils.outputs import prepare_output_file


def val_points(work_dir: str, metric: str) -> List[Tuple[int, float]]:
    """``(step, value)`` of every validation of the newest run in
    ``work_dir`` that logged ``metric``; the step is the epoch for an
    epoch-based run, the iteration otherwise."""
    found = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'{work_dir}: no */vis_data/scalars.json (the work dir of an '
            'mmengine run)')
    with open(found[-1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    points = [(int(r.get('epoch', r.get('step'))), float(r[metric]))
              for r in records if metric in r]
    if not points:
        keys = sorted({k for r in records for k in r})
        raise KeyError(f'{found[-1]} has no {metric!r}; its keys: {keys}')
    return points


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('work_dir')
    parser.add_argument('--metric', default='coco/bbox_mAP')
    parser.add_argument('--out', help='write the plot here (png)')
    parser.add_argument('--title', default='')
    args = parser.parse_args(argv)
    if args.out:
        prepare_output_file(args.out, '--out', overwrite=True)
    points = val_points(args.work_dir, args.metric)
    print(' '.join(f'{s}:{v:.4f}' for s, v in points))
    if args.out:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(*zip(*points), marker='o')
        ax.set_xlabel('epoch or iteration')
        ax.set_ylabel(args.metric)
        ax.set_title(args.title or osp.basename(osp.normpath(args.work_dir)))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        atomic_write(args.out,
                     lambda tmp: fig.savefig(tmp, dpi=100, format='png'))
        print(f'wrote {args.out}')


if __name__ == '__main__':
    sys.exit(main())
