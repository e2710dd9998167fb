"""Input sizes checked against the model a config builds, before any
tracing: smaller than the model's largest stride, its coarsest feature
map would be empty ("Kernel size can't be greater than actual input
size" deep in torch); not a multiple of the size the model pads to, an
exported graph's feature maps would not line up."""
from typing import Any, List, Optional, Sequence, Tuple

#: the largest stride assumed when the config names none (the backbones
#: of the OpenMMLab detectors and segmentors reach 1/32)
DEFAULT_STRIDE = 32


def _find(node: Any, keys: Sequence[str]) -> List[Any]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys:
                found.append(v)
            found += _find(v, keys)
    elif isinstance(node, (list, tuple)):
        for v in node:
            found += _find(v, keys)
    return found


def config_strides(model_cfg: dict) -> Tuple[int, int]:
    """``(largest stride, size multiple)`` of a model config: the strides
    of its prior (anchor) generators, else :data:`DEFAULT_STRIDE`, and its
    data preprocessor's ``pad_size_divisor`` or ``size_divisor`` (1 when
    it pads to none)."""
    strides = []
    for gen in _find(model_cfg, ('prior_generator', 'anchor_generator')):
        for s in (gen.get('strides') or []) if isinstance(gen, dict) else []:
            strides.append(max(s) if isinstance(s, (list, tuple)) else s)
    largest = int(max(strides)) if strides else DEFAULT_STRIDE
    pre = model_cfg.get('data_preprocessor') or {}
    multiple = int(pre.get('pad_size_divisor') or pre.get('size_divisor') or 1)
    return largest, multiple


def check_input_shape(model_cfg: dict,
                      shape: Optional[Sequence[int]],
                      flag: str = '--input-shape',
                      need_multiple: bool = False) -> None:
    """Raise ``ValueError`` naming ``flag`` when ``shape`` (H, W) is below
    the model's largest stride, or (``need_multiple``: a fixed-size graph)
    not a multiple of the size its data preprocessor pads to."""
    if shape is None:
        return
    h, w = (int(x) for x in shape)
    if min(h, w) < 1:
        raise ValueError(f'{flag} {h} {w}: H and W must be positive')
    largest, multiple = config_strides(model_cfg)
    step = max(multiple, 1)
    smallest = -(-largest // step) * step
    if min(h, w) < largest:
        raise ValueError(
            f'{flag} {h} {w}: smaller than the model\'s largest stride '
            f'({largest}), so its coarsest feature map would be empty; use '
            f'at least {smallest} {smallest}')
    if need_multiple and multiple > 1 and (h % multiple or w % multiple):
        up = (-(-h // multiple) * multiple, -(-w // multiple) * multiple)
        raise ValueError(
            f'{flag} {h} {w}: the model pads its inputs to multiples of '
            f'{multiple} (data_preprocessor), and a graph of a fixed size '
            f'must be one: use {up[0]} {up[1]}')
