"""Where mmprune keeps what it measured once and reuses: per-machine
convolution timings and sensitivity scans."""
import os
import os.path as osp


def cache_dir(*parts: str) -> str:
    """``$MMPRUNE_CACHE_DIR`` (default ``~/.cache/mmprune``) joined with
    ``parts``."""
    root = os.environ.get('MMPRUNE_CACHE_DIR') or osp.join(
        osp.expanduser('~'), '.cache', 'mmprune')
    return osp.join(root, *parts)
