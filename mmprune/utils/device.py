"""The device a tool works on: ``--device`` (cuda when torch sees a GPU,
else cpu), checked before any work."""
from typing import Callable, Optional

import torch


def default_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def resolve_device(device: Optional[str],
                   flag: str = '--device') -> torch.device:
    """``device`` (None: :func:`default_device`) as a ``torch.device``;
    a device this torch cannot use raises ``ValueError`` naming ``flag``."""
    name = default_device() if device is None else device
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f'{flag} {name!r}: not a device (cpu, cuda or '
                         'cuda:N)') from None
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(
                f'{flag} {name}: torch {torch.__version__} sees no CUDA GPU '
                '(torch.cuda.is_available() is False); use --device cpu')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f'{flag} {name}: there are '
                             f'{torch.cuda.device_count()} CUDA devices')
    elif dev.type != 'cpu':
        raise ValueError(f'{flag} {name}: mmprune runs on cpu or cuda')
    return dev


def device_name(device: torch.device) -> str:
    """``cpu``, or the GPU's name, for reports."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return 'cpu'


def synchronizer(device: torch.device) -> Callable[[], None]:
    """What waits for ``device``'s queued work: a GPU's, or nothing."""
    if device.type == 'cuda':
        return lambda: torch.cuda.synchronize(device)
    return lambda: None
