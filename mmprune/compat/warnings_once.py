"""Upstream warnings once per run, not once per forward.

torch, mmcv, mmengine and the task libraries warn about their own
deprecations (torch's ``autocast`` FutureWarning from mmdet's backbones,
for instance) on every call of the code that triggers them: Python
remembers a shown warning in the registry of the module that triggered it,
but every ``warnings.catch_warnings`` block (torch's tracer, mmengine's
FLOPs counter) clears those registries, ``once`` filters included, so a
sensitivity scan printed one warning 24 times and nothing of mmprune's
own. mmprune's ``showwarning`` drops an upstream warning it has already
shown in this process; everything else is shown as before.
"""
import re
import warnings
from typing import Set, Tuple

#: a warning is upstream when the code that triggered it lies in one of
#: these packages
UPSTREAM_FILES = re.compile(r'[/\\](torch|torchvision|torch_pruning|onnx|'
                            r'onnxruntime|mmcv|mmengine|mmdet|mmseg|'
                            r'mmrotate)[/\\]')
_shown: Set[Tuple[str, type, str, int]] = set()


def show_upstream_warnings_once() -> None:
    """Show each upstream FutureWarning and UserWarning once per process
    (installed once; the user's own filters still decide what is shown)."""
    original = warnings.showwarning
    if getattr(original, 'mmprune_once', False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (FutureWarning, UserWarning)) and \
                UPSTREAM_FILES.search(str(filename)):
            key = (str(message), category, str(filename), lineno)
            if key in _shown:
                return
            _shown.add(key)
        original(message, category, filename, lineno, file, line)

    showwarning.mmprune_once = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning
