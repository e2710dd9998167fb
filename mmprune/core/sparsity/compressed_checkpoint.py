"""A sparse checkpoint that really shrinks on disk, and back.

A tensor worth compressing is stored as a bit mask of its non-zero
elements (1 bit each) plus the non-zero values in their own dtype, so the
file falls with sparsity (dense float32: 32 bits per weight; compressed:
1 bit + 32 bits per non-zero). Non-zero means a non-zero bit pattern, so
``-0.0`` and NaN payloads come back bit for bit. Everything is plain
tensors, lists and strings: it loads with ``torch.load(weights_only=True)``.
torch's own sparse layouts (COO/CSR) store 64-bit indices per non-zero,
which is larger than dense below ~66% sparsity, hence this format.
Keys that share one tensor (heads whose convs are shared across levels,
e.g. RTMDet's ``share_conv``) are stored once, as torch.save does.
"""
from typing import Dict

import torch

FORMAT = 'mmprune.bitmask_sparse.v1'
_BITS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
_INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _nonzero_bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(_INT_OF_SIZE[t.element_size()]) != 0


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    flat = mask.flatten().to(torch.uint8)
    pad = (-flat.numel()) % 8
    flat = torch.cat([flat, flat.new_zeros(pad)]).view(-1, 8)
    return (flat * _BITS).sum(1, dtype=torch.uint8)


def unpack_bits(packed: torch.Tensor, numel: int) -> torch.Tensor:
    bits = packed.unsqueeze(1).bitwise_and(_BITS).ne(0).flatten()
    return bits[:numel]


def compress_tensor(t: torch.Tensor):
    """The bitmask form of ``t``, or ``t`` itself when that would not be
    smaller (non-float tensors, dense or tiny tensors)."""
    if not t.is_floating_point() or t.element_size() not in _INT_OF_SIZE:
        return t
    t = t.detach().cpu().contiguous()
    keep = _nonzero_bits(t).flatten()
    nnz = int(keep.sum())
    if nnz * t.element_size() + (t.numel() + 7) // 8 >= \
            t.numel() * t.element_size():
        return t
    return dict(
        format=FORMAT,
        shape=list(t.shape),
        bitmask=pack_bits(keep),
        values=t.flatten()[keep].clone())


def decompress_tensor(item) -> torch.Tensor:
    if not isinstance(item, dict):
        return item
    if item.get('format') != FORMAT:
        raise ValueError(f'unknown sparse tensor format {item.get("format")}')
    values = item['values']
    numel = 1
    for s in item['shape']:
        numel *= s
    keep = unpack_bits(item['bitmask'], numel)
    out = torch.zeros(numel, dtype=values.dtype)
    out[keep] = values
    return out.reshape(item['shape'])


def tensor_identity(t: torch.Tensor) -> tuple:
    """Equal for two keys that hold the same tensor (shared storage,
    offset, shape, strides and dtype)."""
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape),
            t.stride(), t.dtype)


def compress_state_dict(state: Dict[str, torch.Tensor]) -> Dict:
    out, first = {}, {}
    for k, v in state.items():
        ident = tensor_identity(v) if isinstance(v, torch.Tensor) else None
        if ident is not None and ident in first:
            out[k] = dict(format=FORMAT, same_as=first[ident])
            continue
        if ident is not None:
            first[ident] = k
        out[k] = compress_tensor(v)
    return out


def decompress_state_dict(packed: Dict) -> Dict[str, torch.Tensor]:
    out = {}
    for k, v in packed.items():
        if isinstance(v, dict) and 'same_as' in v:
            out[k] = out[v['same_as']]
        else:
            out[k] = decompress_tensor(v)
    return out


def compress_checkpoint(checkpoint: Dict) -> Dict:
    """A deployable checkpoint: ``meta`` and the compressed ``state_dict``
    only (optimizer, schedulers, message hub, masks and the EMA copy are
    training state; ``state_dict`` already holds the EMA weights when an
    EMAHook saved it)."""
    state = checkpoint.get('state_dict', checkpoint)
    meta = dict(checkpoint.get('meta', {}))
    meta['sparse_format'] = FORMAT
    return dict(meta=meta, sparse_state_dict=compress_state_dict(state))


def is_compressed_checkpoint(checkpoint) -> bool:
    return isinstance(checkpoint, dict) and 'sparse_state_dict' in checkpoint


def decompress_checkpoint(checkpoint: Dict) -> Dict:
    """The dense ``{'meta', 'state_dict'}`` checkpoint, bit for bit."""
    meta = dict(checkpoint.get('meta', {}))
    if meta.pop('sparse_format', FORMAT) != FORMAT:
        raise ValueError('unknown sparse checkpoint format')
    return dict(
        meta=meta,
        state_dict=decompress_state_dict(checkpoint['sparse_state_dict']))
