"""Do two sets of detections agree? ONNX Runtime's end-to-end outputs
against the model's own ``predict`` in PyTorch.

Each reference detection is matched with an unused detection of the same
label whose score and box agree within tolerance, best score first. Exact
order is not compared: detections of equal score may come in either order.
Near-equal scores also decide which of two overlapping boxes NMS keeps and
which boxes make the ``max_per_img`` cut; the two runtimes' float noise
may decide those differently, so such swaps are counted apart (``ties``).
"""
from dataclasses import asdict, dataclass

import numpy as np

# box coordinates are pixels of the input: float reordering in the
# runtimes moves them by ~1e-3 at 640 px; a wrong decoding by whole pixels
BOX_ATOL = 0.05
SCORE_ATOL = 1e-3


@dataclass
class DetectionAgreement:
    reference: int
    exported: int
    matched: int
    max_box_diff: float
    max_score_diff: float
    # unmatched reference detections explained by near-equal scores: at
    # the max_per_img cut, or an overlapping box of the same class and
    # score kept by NMS in their place
    ties: int = 0

    @property
    def agree(self) -> bool:
        return self.matched + self.ties == self.reference

    def to_dict(self) -> dict:
        return dict(asdict(self), agree=self.agree)


def match_detections(ref_boxes: np.ndarray,
                     ref_scores: np.ndarray,
                     ref_labels: np.ndarray,
                     boxes: np.ndarray,
                     scores: np.ndarray,
                     labels: np.ndarray,
                     max_det: int = 0) -> DetectionAgreement:
    """Agreement of two detection sets (each sorted or not); padding rows
    (score 0) of the exported set are ignored. When the reference holds
    ``max_det`` detections, those left unmatched at its lowest score are
    counted apart (``ties``), as are those for which an unmatched
    detection of the same label and score overlaps them (an NMS swap)."""
    keep = scores > 0
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    used = np.zeros(len(scores), bool)
    matched, box_diff, score_diff = 0, 0.0, 0.0
    unmatched = []
    cut = float(ref_scores.min()) if max_det and \
        len(ref_scores) >= max_det else -1.0
    for i in np.argsort(-ref_scores, kind='stable'):
        box_err = np.abs(boxes - ref_boxes[i]).max(1) if len(boxes) else \
            np.zeros(0)
        score_err = np.abs(scores - ref_scores[i])
        ok = (~used) & (labels == ref_labels[i]) & (box_err <= BOX_ATOL) & (
            score_err <= SCORE_ATOL)
        if ok.any():
            j = int(np.flatnonzero(ok)[np.argmin(box_err[ok])])
            used[j] = True
            matched += 1
            box_diff = max(box_diff, float(box_err[j]))
            score_diff = max(score_diff, float(score_err[j]))
        else:
            unmatched.append(i)
    ties = 0
    for i in unmatched:
        if ref_scores[i] <= cut + SCORE_ATOL:
            ties += 1
            continue
        swap = (~used) & (labels == ref_labels[i]) & (
            np.abs(scores - ref_scores[i]) <= SCORE_ATOL) & (
                _iou(boxes, ref_boxes[i]) > 0)
        if swap.any():
            used[int(np.flatnonzero(swap)[0])] = True
            ties += 1
    return DetectionAgreement(
        len(ref_scores), len(scores), matched, box_diff, score_diff, ties)


def _iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    if not len(boxes):
        return np.zeros(0)
    lt = np.maximum(boxes[:, :2], box[:2])
    rb = np.minimum(boxes[:, 2:], box[2:])
    inter = np.clip(rb - lt, 0, None).prod(1)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(1)
    union = area + (box[2:] - box[:2]).prod() - inter
    return inter / np.maximum(union, 1e-9)
