"""Writing files so that a reader never sees half of one: write beside the
target, then rename over it (atomic on one filesystem)."""
import json
import os
import os.path as osp
import tempfile
from typing import Callable

import torch


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)``, then move the result to ``path``. The file
    gets the mode ``open()`` would give it (0666 less the umask), not the
    0600 of the temporary file."""
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def dump_json_atomic(obj: dict, path: str) -> None:

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=2)

    atomic_write(path, write)


def save_checkpoint_atomic(checkpoint: dict, path: str) -> None:
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
