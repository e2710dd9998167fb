"""Reading checkpoints so that every failure names the file and what is
wrong with it (missing, empty, truncated, not a checkpoint, refused by safe
loading, or of another architecture), instead of torch's bare ``EOFError``,
``KeyError: 101`` or zip error. Every tool and hook reads through here;
loading is always ``torch.load(weights_only=True)``."""
import os
import os.path as osp
import pickle
import zipfile
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .sparsity.compressed_checkpoint import decompress_checkpoint

ZIP_MAGIC = b'PK\x03\x04'
# the legacy (pre-1.6) torch.save format starts with a pickled magic number
LEGACY_MAGIC = b'\x80\x02\x8a\n'


class CheckpointError(ValueError):
    """A file that cannot be used as a checkpoint; the message names it."""


class CheckpointMismatchError(CheckpointError):
    """A readable checkpoint whose tensors do not fit the model."""


class NonFiniteWeightsError(CheckpointError):
    """A checkpoint whose weights hold NaN or infinities."""


def check_checkpoint_path(path: str, what: str = 'checkpoint') -> None:
    """Fail, naming ``path``, when it is not a non-empty readable file
    (cheap: for option checks before any model is built)."""
    if not isinstance(path, str) or not path:
        raise CheckpointError(f'{what}: no file given ({path!r})')
    if not osp.exists(path):
        raise FileNotFoundError(f'{what} "{path}" does not exist')
    if osp.isdir(path):
        raise CheckpointError(f'{what} "{path}" is a folder, not a file')
    if not os.access(path, os.R_OK):
        raise CheckpointError(f'{what} "{path}" is not readable '
                              '(permission denied)')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{what} "{path}" is empty (0 bytes): an '
                              'interrupted copy or save?')


def _head(path: str, n: int = 64) -> bytes:
    with open(path, 'rb') as f:
        return f.read(n)


def _why_unreadable(path: str, what: str, error: BaseException) -> str:
    head = _head(path)
    size = osp.getsize(path)
    if head.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            return (f'{what} "{path}" is truncated or corrupt: it starts as '
                    f'a torch checkpoint (zip) but its {size} bytes do not '
                    'hold a complete archive (an interrupted download or '
                    f'save?) [{type(error).__name__}: {error}]')
        return (f'{what} "{path}" is a zip archive that torch cannot read '
                f'as a checkpoint [{type(error).__name__}: {error}]')
    if head.startswith(LEGACY_MAGIC):
        return (f'{what} "{path}" is a legacy torch checkpoint that is '
                f'truncated or corrupt ({size} bytes) '
                f'[{type(error).__name__}: {error}]')
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in '\r\n\t'
                                for c in text):
        return (f'{what} "{path}" is not a checkpoint: it is a text file '
                f'starting with {text[:40]!r}')
    return (f'{what} "{path}" is not a torch checkpoint (unknown format, '
            f'first bytes {head[:8]!r}) [{type(error).__name__}: {error}]')


def _unsafe_globals(path: str) -> List[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001 - only used to enrich a message
        return []


def read_checkpoint(path: str, what: str = 'checkpoint') -> dict:
    """The checkpoint at ``path`` loaded on the CPU with
    ``weights_only=True``. Every failure is a :class:`CheckpointError` (or
    ``FileNotFoundError``) whose message names ``what`` and ``path``."""
    check_checkpoint_path(path, what)
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        if 'Weights only load failed' in str(e):
            found = _unsafe_globals(path)
            names = (', '.join(found[:5])
                     if found else str(e).split('\n')[0][:200])
            raise CheckpointError(
                f'{what} "{path}" was refused by safe loading '
                '(torch.load(weights_only=True)): it holds Python objects '
                f'that could run code when loaded ({names}). It is not '
                'loaded; re-save its tensors with torch.save(state_dict) '
                'if you trust it') from None
        raise CheckpointError(_why_unreadable(path, what, e)) from None
    except (EOFError, KeyError, RuntimeError, ValueError, OSError, IndexError,
            TypeError, AttributeError) as e:
        raise CheckpointError(_why_unreadable(path, what, e)) from None
    if not isinstance(ckpt, dict) or not ckpt:
        held = ('an empty dict'
                if isinstance(ckpt, dict) else type(ckpt).__name__)
        raise CheckpointError(f'{what} "{path}" is not a checkpoint: it '
                              f'holds {held}, not a state dict')
    if not any(k in ckpt for k in ('state_dict', 'sparse_state_dict')) and \
            not any(isinstance(v, torch.Tensor) for v in ckpt.values()):
        raise CheckpointError(
            f'{what} "{path}" is not a checkpoint: a dict with keys '
            f'{sorted(map(str, ckpt))[:8]} and no "state_dict" or tensors')
    bad = first_non_finite(ckpt)
    if bad is not None:
        name, count = bad
        raise NonFiniteWeightsError(
            f'{what} "{path}" holds non-finite weights: "{name}" has '
            f'{count} NaN or infinite values (a diverged training run?). '
            'It is not used; take a checkpoint from before the run '
            'diverged')
    return ckpt


def first_non_finite(checkpoint: dict) -> Optional[Tuple[str, int]]:
    """``(name, how many)`` of the first model tensor of ``checkpoint``
    holding NaN or an infinity, or None. A compressed sparse checkpoint is
    checked on its stored values."""
    state = checkpoint.get('state_dict',
                           checkpoint.get('sparse_state_dict', checkpoint))
    for name, value in state.items():
        if isinstance(value, dict):  # a compressed tensor's parts
            tensors = [(f'{name}.{k}', v) for k, v in value.items()
                       if isinstance(v, torch.Tensor)]
        else:
            tensors = [(name, value)]
        for key, t in tensors:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                finite = torch.isfinite(t)
                if not bool(finite.all()):
                    return key, int((~finite).sum())
    return None


def state_dict_of(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The model tensors of a loaded checkpoint (mmengine's
    ``state_dict``, a compressed sparse one decompressed, or a bare state
    dict), with DDP's ``module.`` prefix removed."""
    if 'sparse_state_dict' in checkpoint:
        checkpoint = decompress_checkpoint(checkpoint)
    state = checkpoint.get('state_dict', checkpoint)
    return {
        (k[7:] if k.startswith('module.') else k): v
        for k, v in state.items() if isinstance(v, torch.Tensor)
    }


def read_state_dict(
        path: str,
        what: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """``(state_dict, meta)`` of the checkpoint at ``path``."""
    ckpt = read_checkpoint(path, what)
    return state_dict_of(ckpt), dict(ckpt.get('meta') or {})


def state_mismatches(
        model: nn.Module,
        state: Dict[str,
                    torch.Tensor]) -> Tuple[List[str], List[str], List[str]]:
    """``(shape_mismatches, missing, unexpected)`` of ``state`` against
    ``model.state_dict()``; shape mismatches as readable lines."""
    own = model.state_dict()
    shapes = [
        f'"{k}": {list(v.shape)} in the checkpoint, '
        f'{list(own[k].shape)} in the model' for k, v in state.items()
        if k in own and tuple(own[k].shape) != tuple(v.shape)
    ]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    return shapes, missing, unexpected


def check_state_fits(model: nn.Module,
                     state: Dict[str, torch.Tensor],
                     path: str,
                     what: str = 'checkpoint',
                     model_desc: str = 'the model',
                     allow_unexpected: bool = False,
                     hint: Optional[str] = None) -> None:
    """Raise :class:`CheckpointMismatchError` when ``state`` does not fill
    ``model`` exactly: it names the file, the first tensor (and so the
    module) that does not fit, and how many more do not."""
    shapes, missing, unexpected = state_mismatches(model, state)
    if allow_unexpected:
        unexpected = []
    if not (shapes or missing or unexpected):
        return
    parts = []
    if shapes:
        parts.append(f'{len(shapes)} tensors differ in shape (first '
                     f'{shapes[0]})')
    if missing:
        parts.append(f'{len(missing)} model tensors are not in the '
                     f'checkpoint (first "{missing[0]}", module '
                     f'"{missing[0].rsplit(".", 1)[0]}")')
    if unexpected:
        parts.append(f'{len(unexpected)} checkpoint tensors have no place '
                     f'in the model (first "{unexpected[0]}")')
    msg = (f'{what} "{path}" does not fit {model_desc}: ' + '; '.join(parts) +
           '. It belongs to another architecture or '
           'another width')
    raise CheckpointMismatchError(msg + (f'. {hint}' if hint else ''))
