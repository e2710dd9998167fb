"""Deterministic synthetic scenes of coloured shapes on textured backgrounds.

Pure numpy/cv2 (no OpenMMLab import): every format writer renders the same
scenes, so a COCO, DOTA and segmentation copy of a split show one world.
Each object is a polygon in its own frame (x in [-w/2, w/2], y in
[-h/2, h/2]) turned by an angle, so its oriented box is exact, and it is
drawn in order, so later objects occlude earlier ones.
"""
import math
import zlib
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

SHAPE_CLASSES: Tuple[str, ...] = ('rectangle', 'ellipse', 'triangle', 'cross',
                                  'star')
# distinct colours for visualisers
SHAPE_PALETTE: List[Tuple[int, int, int]] = [(220, 20, 60), (0, 130, 200),
                                             (60, 180, 75), (255, 165, 0),
                                             (145, 30, 180)]


@dataclass
class ShapesSpec:
    """What one split of a shapes dataset holds. Everything that changes the
    pixels is here, so two equal specs give byte-identical datasets."""
    num_images: int = 200
    img_size: int = 256
    min_objects: int = 1
    max_objects: int = 6
    min_object_size: int = 24
    max_object_size: int = 96
    max_occlusion: float = 0.4  # an object keeps >= 60% of itself visible
    seed: int = 0
    split: str = 'train'
    classes: Tuple[str, ...] = field(default_factory=lambda: SHAPE_CLASSES)

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        unknown = [c for c in self.classes if c not in _OUTLINES]
        if unknown:
            raise ValueError(f'shapes: unknown classes {unknown}; known: '
                             f'{sorted(_OUTLINES)}')
        if self.num_images < 1:
            raise ValueError(f'shapes: num_images must be >= 1, got '
                             f'{self.num_images}')
        if not 0 < self.min_object_size <= self.max_object_size < \
                self.img_size:
            raise ValueError(
                'shapes: need 0 < min_object_size <= max_object_size < '
                f'img_size, got {self.min_object_size}, '
                f'{self.max_object_size}, {self.img_size}')
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError('shapes: need 1 <= min_objects <= max_objects')

    def to_dict(self) -> Dict:
        d = asdict(self)
        d['classes'] = list(self.classes)
        return d

    def rng(self, index: int) -> np.random.Generator:
        # one stream per (seed, split, image): any image can be re-rendered
        split_key = zlib.crc32(self.split.encode())
        return np.random.default_rng([self.seed, split_key, index])


@dataclass
class ShapeObject:
    label: int
    obox: Tuple[float, float, float, float, float]  # cx, cy, w, h, angle(rad)
    outline: np.ndarray  # (N, 2) float image coordinates, whole object
    visible: np.ndarray  # (H, W) bool, after occlusion by later objects


def _rectangle(w, h):
    return np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2


def _ellipse(w, h, n=48):
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([np.cos(t) * w / 2, np.sin(t) * h / 2], 1)


def _triangle(w, h):
    return np.array([[-w / 2, h / 2], [w / 2, h / 2], [0, -h / 2]])


def _cross(w, h):
    a, b = w / 6, h / 6  # arm half-widths
    x, y = w / 2, h / 2
    return np.array([[-a, -y], [a, -y], [a, -b], [x, -b], [x, b], [a, b],
                     [a, y], [-a, y], [-a, b], [-x, b], [-x, -b], [-a, -b]])


def _star(w, h, points=5):
    t = np.arange(2 * points) * math.pi / points - math.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, 0.45)
    pts = np.stack([np.cos(t) * r, np.sin(t) * r], 1)
    # scale so the star spans exactly w x h in its own frame
    lo, hi = pts.min(0), pts.max(0)
    pts = (pts - (lo + hi) / 2) / (hi - lo)
    return pts * np.array([w, h])


_OUTLINES = dict(
    rectangle=_rectangle,
    ellipse=_ellipse,
    triangle=_triangle,
    cross=_cross,
    star=_star)
# aspect ranges (h / w); away from 1 where the box angle would be ambiguous
_ASPECTS = dict(
    rectangle=(0.35, 0.6),
    ellipse=(0.4, 0.65),
    triangle=(0.9, 1.4),
    cross=(0.55, 0.8),
    star=(0.95, 1.05))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-frequency colour field, noise and a few lines: texture that a
    detector must learn to ignore."""
    small = rng.uniform(40, 200, (4, 4, 3)).astype(np.float32)
    img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 12, (size, size, 3)).astype(np.float32)
    for _ in range(rng.integers(2, 7)):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        color = tuple(float(v) for v in rng.uniform(0, 255, 3))
        cv2.line(img, p1, p2, color, int(rng.integers(1, 3)))
    return img


def render_scene(spec: ShapesSpec,
                 index: int) -> Tuple[np.ndarray, List[ShapeObject]]:
    """Render image ``index`` of ``spec``: (H, W, 3) uint8 BGR and objects."""
    rng = spec.rng(index)
    size = spec.img_size
    img = _background(rng, size)
    objects: List[ShapeObject] = []
    want = int(rng.integers(spec.min_objects, spec.max_objects + 1))
    tries = 0
    while len(objects) < want and tries < want * 20:
        tries += 1
        label = int(rng.integers(len(spec.classes)))
        name = spec.classes[label]
        w = float(rng.uniform(spec.min_object_size, spec.max_object_size))
        h = w * float(rng.uniform(*_ASPECTS[name]))
        h = max(h, spec.min_object_size * 0.5)
        angle = float(rng.uniform(-math.pi / 2, math.pi / 2))
        local = _OUTLINES[name](w, h)
        rot = np.array([[math.cos(angle), -math.sin(angle)],
                        [math.sin(angle), math.cos(angle)]])
        corners = _rectangle(w, h) @ rot.T
        half = np.abs(corners).max(0)  # keep the whole oriented box inside
        if np.any(2 * half + 2 >= size):
            continue
        cx = float(rng.uniform(half[0] + 1, size - half[0] - 1))
        cy = float(rng.uniform(half[1] + 1, size - half[1] - 1))
        outline = local @ rot.T + np.array([cx, cy])
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
        mask = mask.astype(bool)
        if mask.sum() < 16:
            continue
        # refuse a placement that hides too much of an earlier object
        if any((o.visible & ~mask).sum() < (1 - spec.max_occlusion) *
               o.visible.sum() for o in objects):
            continue
        for o in objects:
            o.visible &= ~mask
        objects.append(
            ShapeObject(label, (cx, cy, w, h, angle), outline, mask.copy()))
        color = rng.uniform(0, 255, 3)
        shade = rng.normal(0, 8, (size, size, 1))
        img[mask] = (color + shade[mask]).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), objects


def obox_corners(obox: Sequence[float]) -> np.ndarray:
    """(4, 2) corners of an oriented box, clockwise in image coordinates."""
    cx, cy, w, h, angle = obox
    rot = np.array([[math.cos(angle), -math.sin(angle)],
                    [math.sin(angle), math.cos(angle)]])
    return _rectangle(w, h) @ rot.T + np.array([cx, cy])
