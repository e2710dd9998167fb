"""Output locations checked before any work: a folder that cannot be
created or written, or a result of an earlier run that would be replaced
without ``--overwrite``, fails at once, naming the flag."""
import os
import os.path as osp
from typing import Sequence


def check_creatable(folder: str, flag: str) -> None:
    """Fail, naming ``flag``, unless ``folder`` is a writable folder or can
    be created: its nearest existing ancestor is a writable folder.
    Creates nothing."""
    path = osp.abspath(folder)
    if osp.exists(path) and not osp.isdir(path):
        raise ValueError(f'{flag} "{folder}" is a file, not a folder')
    parent = path
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        raise ValueError(f'{flag} "{folder}": the folder cannot be created '
                         f'("{parent}" is a file)')
    if not os.access(parent, os.W_OK | os.X_OK):
        what = ('is not writable' if parent == path else
                f'cannot be created ("{parent}" is not writable)')
        raise ValueError(f'{flag} "{folder}": the folder {what}')


def prepare_output_dir(folder: str,
                       flag: str,
                       results: Sequence[str] = (),
                       overwrite: bool = False) -> str:
    """Create ``folder`` (or fail naming ``flag``), check that it can be
    written, and refuse when it already holds one of ``results`` (file
    names) unless ``overwrite``. The folder."""
    check_creatable(folder, flag)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ValueError(f'{flag} "{folder}": the folder cannot be created '
                         f'({e.strerror or e})') from None
    existing = [r for r in results if osp.exists(osp.join(folder, r))]
    if existing and not overwrite:
        raise FileExistsError(
            f'{flag} "{folder}" already holds {existing[0]} from an earlier '
            'run: choose another folder, or pass --overwrite to replace it')
    return folder


def prepare_output_file(path: str, flag: str, overwrite: bool = False) -> str:
    """The same for one file: its folder created and writable, and an
    existing file refused unless ``overwrite``. The path."""
    if osp.isdir(path):
        raise ValueError(f'{flag} "{path}" is a folder, not a file')
    prepare_output_dir(osp.dirname(osp.abspath(path)), flag)
    if osp.exists(path) and not overwrite:
        raise FileExistsError(
            f'{flag} "{path}" already exists: choose another name, or pass '
            '--overwrite to replace it')
    return path
