"""Let every mmengine checkpoint load (``load_from``, ``--resume``,
``tools/test.py``, ``init_cfg``) read mmprune's compressed sparse
checkpoints as the dense weights they encode.

mmengine picks a loader by path prefix; local files use the loader
registered for ''. It is re-registered here (mmengine's extension point,
``CheckpointLoader.register_scheme``) as mmengine's own local loader plus
decompression, so other checkpoints load exactly as before. It reads
through mmprune's checkpoint reader, so an empty, truncated, unsafe or
non-checkpoint file is an error naming the file.
"""
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader, load_from_local

from mmprune.core.checkpoint_reader import read_checkpoint
from mmprune.core.sparsity import (decompress_checkpoint,
                                   is_compressed_checkpoint)


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_local_or_compressed(filename: str, map_location=None) -> dict:
    filename = osp.expanduser(filename)
    checkpoint = read_checkpoint(filename)  # on the CPU, or a clear error
    if map_location not in (None, 'cpu'):
        checkpoint = load_from_local(filename, map_location)
    if is_compressed_checkpoint(checkpoint):
        return decompress_checkpoint(checkpoint)
    return checkpoint
