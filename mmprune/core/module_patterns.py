"""Module-name patterns shared by pruning and sparsity."""
import re
from typing import List

import torch.nn as nn

# The final prediction layers of every supported model family (their
# output widths are the task's classes and box parameters) are declared
# by the families: see ``core/model_family.py``, ``default_protected()``.


def check_pattern(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f'{key}: {pattern!r} is not a valid regular '
                         f'expression ({e})') from None


def matching_modules(model: nn.Module,
                     pattern: str,
                     key: str,
                     types: tuple = (nn.Module, )) -> List[str]:
    """Names of the modules of the given types whose name the pattern
    matches (``re.search``); none is an error naming the pattern."""
    check_pattern(pattern, key)
    names = [n for n, m in model.named_modules() if n and isinstance(m, types)]
    found = [n for n in names if re.search(pattern, n)]
    if not found:
        raise ValueError(
            f'{key}: pattern {pattern!r} matches no module (module names '
            f'look like: {", ".join(names[:8])}, ...)')
    return found
