"""Generate a shapes split on first use, atomically, once per machine.

A split lives in one folder with ``shapes_meta.json`` (format + spec) written
last, which marks it complete. Generation happens in a temporary sibling
folder renamed into place under a file lock, so concurrent ranks or an
interrupted run never see a half-written dataset.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional

from filelock import FileLock

from mmprune.registry import SHAPES_WRITERS
from .scene import ShapesSpec
from .writers import SUBDIRS

META_FILE = 'shapes_meta.json'


class NotAShapesDatasetError(ValueError):
    pass


def read_shapes_meta(root: str) -> dict:
    meta_path = osp.join(root, META_FILE)
    if not osp.isfile(meta_path):
        raise NotAShapesDatasetError(
            f'{root!r} exists but is not a shapes dataset: it has no '
            f'{META_FILE}. Point data_root at an empty or missing folder '
            'to generate one there, or use a stock dataset class for '
            'other data.')
    with open(meta_path) as f:
        return json.load(f)


def prepare_shapes_dataset(root: str,
                           fmt: str,
                           spec: Optional[ShapesSpec] = None) -> str:
    """Make sure ``root`` holds the shapes split ``spec`` in format ``fmt``.

    Generates it when ``root`` is missing or empty; checks it otherwise, and
    raises a clear error when the folder holds something else.
    """
    if fmt not in SHAPES_WRITERS.module_dict:
        raise ValueError(f'shapes: unknown format {fmt!r}; known: '
                         f'{sorted(SHAPES_WRITERS.module_dict)}')
    spec = spec or ShapesSpec()
    root = osp.abspath(root)
    want = dict(format=fmt, spec=spec.to_dict())
    if not (osp.isdir(root) and os.listdir(root)):
        os.makedirs(osp.dirname(root), exist_ok=True)
        with FileLock(root.rstrip('/') + '.lock'):
            if not (osp.isdir(root) and os.listdir(root)):
                _generate(root, fmt, spec, want)
    have = read_shapes_meta(root)
    if have != want:
        diff = sorted(
            k for k in set(have.get('spec', {})) | set(want['spec'])
            if have.get('spec', {}).get(k) != want['spec'].get(k))
        if have.get('format') != fmt:
            diff.insert(0, 'format')
        raise NotAShapesDatasetError(
            f'{root!r} holds a shapes dataset made with other settings '
            f'(differs in: {", ".join(diff)}). Delete the folder to '
            'regenerate it, or set another data_root.')
    return root


def _generate(root: str, fmt: str, spec: ShapesSpec, meta: dict) -> None:
    tmp = tempfile.mkdtemp(prefix='.tmp-', dir=osp.dirname(root))
    try:
        for sub in SUBDIRS[fmt]:
            os.makedirs(osp.join(tmp, sub))
        SHAPES_WRITERS.module_dict[fmt](tmp, spec)
        with open(osp.join(tmp, META_FILE), 'w') as f:
            json.dump(meta, f, indent=1)
        if osp.isdir(root):
            os.rmdir(root)  # empty (checked by the caller)
        os.replace(tmp, root)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp)
