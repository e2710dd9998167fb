"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and
mmengine 0.10.7 calls it without that argument. A checkpoint that mmengine
itself saved holds a few non-tensor types (numpy scalars and arrays in
``meta``, :class:`HistoryBuffer` in ``message_hub``), which the safe
unpickler refuses. Turning ``weights_only`` off would let any checkpoint run
code; instead exactly the types mmengine writes are allow-listed, so
``--resume`` and ``load_from`` work and loading stays safe.
"""
import pickle
from typing import Any, List

import numpy as np
import torch


def mmengine_checkpoint_globals() -> List:
    """The non-tensor types found in checkpoints saved by mmengine's runner.

    Measured with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on
    checkpoints saved by mmdet, mmrotate and mmseg runs (tests re-check it).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    numpy_core = np._core if hasattr(np, '_core') else np.core
    found = [
        HistoryBuffer,
        numpy_core.multiarray._reconstruct,
        numpy_core.multiarray.scalar,
        np.ndarray,
        np.dtype,
    ]
    # numpy >= 1.25 pickles dtypes as instances of these per-type classes
    for name in ('Float64DType', 'Float32DType', 'Int64DType', 'Int32DType',
                 'BoolDType', 'UInt8DType'):
        dtype_cls = getattr(getattr(np, 'dtypes', None), name, None)
        if dtype_cls is not None:
            found.append(dtype_cls)
    return found


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """A ``getattr`` that only resolves HistoryBuffer's statistics methods.

    A HistoryBuffer pickles its ``_statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')`` and so on. Allowing the real builtin
    would let a checkpoint reach any attribute of any allowed object; this
    stand-in, registered under the name ``builtins.getattr``, refuses
    everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # the four built-in methods, plus any registered with
    # HistoryBuffer.register_statistics (filled in lazily by mmengine)
    known = {'min', 'max', 'current', 'mean'}
    known.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in known:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights_only load: getattr({obj!r}, {name!r}) is not allowed '
        '(mmprune allows only HistoryBuffer statistics methods)')


def allow_mmengine_checkpoint_globals() -> None:
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals() +
                                         [(history_buffer_getattr,
                                           'builtins.getattr')])
