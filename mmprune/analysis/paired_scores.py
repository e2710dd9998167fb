"""How far apart models' scores really are on one test set: each model's
score over the whole set, and the standard error of its difference to a
reference model from the same images split into chunks (a paired
difference: the test set's sampling is measured, not guessed).

The scoring is the caller's (bbox mAP, mIoU); this module only pairs the
chunk scores and writes the table."""
import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

#: a run's score over the whole set and over each chunk of images
RunScores = Tuple[float, Sequence[float]]


def check_control(control: Optional[str], runs: Iterable[str]) -> None:
    """``control`` must name one of ``runs`` (checked before any run is
    scored)."""
    if control is not None and control not in runs:
        raise ValueError(f'--control {control!r} is not one of the runs: '
                         f'{sorted(runs)}')


def paired_rows(scores: Dict[str, RunScores],
                control: Optional[str] = None) -> List[dict]:
    """Per run, in order: ``score``, ``chunk_scores``, ``chunk_se``, and
    (from the second run on) ``diff``, ``diff_se`` and ``share`` against
    the first run; ``diff_control``, ``diff_se_control`` and
    ``share_control`` against ``control`` (a run name) when given."""
    check_control(control, scores)
    sizes = {len(chunks) for _, chunks in scores.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise ValueError('every run needs the same number (at least 2) of '
                         f'chunk scores, got {sorted(sizes)}')
    rows = []
    for name, (score, chunks) in scores.items():
        cs = np.asarray(chunks, dtype=float)
        rows.append(
            dict(
                name=name,
                score=float(score),
                chunk_scores=cs.tolist(),
                chunk_se=float(cs.std(ddof=1) / math.sqrt(len(cs)))))
    for key, ref in (('', rows[0]),
                     ('_control',
                      next((r for r in rows if r['name'] == control), None))):
        if ref is None:
            continue
        for row in rows:
            if row is ref:
                continue
            diff = (
                np.array(row['chunk_scores']) - np.array(ref['chunk_scores']))
            row['diff' + key] = row['score'] - ref['score']
            row['diff_se' + key] = float(
                diff.std(ddof=1) / math.sqrt(len(diff)))
            row['share' + key] = row['score'] / ref['score']
    return rows


def _against(row: dict, key: str, digits: int) -> str:
    if 'diff' + key not in row:
        alone = '' if key else f'(± {row["chunk_se"]:.{digits}f} alone)'
        return f'100% | {alone} |'
    return (f'{100 * row["share" + key]:.1f}% | '
            f'{row["diff" + key]:+.{digits}f} '
            f'± {row["diff_se" + key]:.{digits}f} |')


def paired_table(rows: List[dict],
                 metric: str,
                 control: Optional[str] = None,
                 digits: int = 3) -> List[str]:
    """The rows of :func:`paired_rows` as markdown lines: score, share of
    the first run and paired difference, and the same against
    ``control``."""
    chunks = len(rows[0]['chunk_scores'])
    head = (f'| run | {metric} | of {rows[0]["name"]} | difference '
            f'(± standard error over {chunks} image chunks) |')
    if control:
        head += f' of {control} | difference to {control} |'
    lines = [head, '| --- ' * (head.count(' | ') + 1) + '|']
    for row in rows:
        line = (f'| {row["name"]} | {row["score"]:.{digits}f} | '
                f'{_against(row, "", digits)}')
        if control:
            line += ' ' + _against(row, '_control', digits)
        lines.append(line)
    return lines
