"""A sensitivity scan kept on disk point by point, so that a second target
on the same weights costs no scan, and a scan that died resumes at the
point it stopped.

A file per scan, named by a digest of what decides its points: the model's
weights and structure, the batches (images and annotations), the pruning
settings of the trials, the FLOPs of the unpruned model (the input size
they are counted at) and the mmprune release. Points are stored per block
and ratio, so a scan at other ratios reuses the ones it shares.
"""
import hashlib
import json
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmprune.utils.atomic_io import dump_json_atomic
from mmprune.version import __version__


def _feed(h, obj: Any) -> None:
    """Feed ``obj`` (tensors, data samples, containers of them) into the
    hash ``h``, tensors by their bytes, not their (abridged) repr."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f'{t.dtype}{tuple(obj.shape)}'.encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f'[{len(obj)}'.encode())
        for item in obj:
            _feed(h, item)
    elif hasattr(obj, 'to_dict'):  # mmengine's data elements
        _feed(h, obj.to_dict())
    elif isinstance(getattr(obj, 'tensor', None), torch.Tensor):  # boxes
        h.update(type(obj).__name__.encode())
        _feed(h, obj.tensor)
    elif hasattr(obj, 'tobytes'):  # numpy arrays
        h.update(
            f'{getattr(obj, "dtype", "")}{getattr(obj, "shape", "")}'.encode())
        h.update(obj.tobytes())
    else:
        h.update(repr(obj).encode())


def scan_digest(model: nn.Module, batches: Sequence[dict],
                settings: Dict[str, Any]) -> str:
    """What a scan's points depend on, as a hex digest."""
    h = hashlib.sha256()
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(__version__.encode())
    h.update(
        repr([(n, type(m).__name__)
              for n, m in model.named_modules()]).encode())
    _feed(h, model.state_dict())
    _feed(h, list(batches))
    return h.hexdigest()[:32]


PointKey = Tuple[str, float]


class SensitivityScanCache:
    """The points of one scan in ``directory/<digest>.json``, written
    atomically after each new point."""

    def __init__(self, directory: str, model: nn.Module,
                 batches: Sequence[dict], settings: Dict[str, Any]) -> None:
        self.settings = settings
        self.path = osp.join(directory,
                             scan_digest(model, batches, settings) + '.json')
        self.points: Dict[PointKey, dict] = {}
        if osp.exists(self.path):
            try:
                with open(self.path) as f:
                    stored = json.load(f)
                self.points = {
                    (p['unit'], float(p['ratio'])): p
                    for p in stored['points']
                }
            except (OSError, ValueError, KeyError, TypeError) as e:
                # a damaged file is scanned again, not fatal
                print_log(
                    f'sensitivity cache {self.path} is unreadable ({e}); '
                    'scanning again',
                    logger='current')
                self.points = {}

    def get(self, unit: str, ratio: float,
            needs: Sequence[str] = ()) -> Optional[dict]:
        """The stored point, if it has every field in ``needs``."""
        point = self.points.get((unit, float(ratio)))
        if point is None or any(k not in point for k in needs):
            return None
        return point

    def count(self,
              units: Sequence[str],
              ratios: Sequence[float],
              needs: Sequence[str] = ()) -> int:
        """How many of a scan's points (``units`` x ``ratios``) are
        stored with every field in ``needs``."""
        return sum(
            self.get(u, r, needs) is not None for u in units for r in ratios)

    def put(self, point: dict) -> None:
        self.points[(point['unit'], float(point['ratio']))] = point
        dump_json_atomic(
            dict(settings=self.settings, points=list(self.points.values())),
            self.path)
