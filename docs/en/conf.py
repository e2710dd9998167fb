"""Sphinx configuration of mmprune's documentation (MyST markdown, as the
OpenMMLab projects write theirs)."""
import os.path as osp
import sys

sys.path.insert(0, osp.abspath('../..'))

project = 'mmprune'
copyright = '2026, the mmprune authors'
author = 'the mmprune authors'
version_file = osp.join(
    osp.dirname(__file__), '..', '..', 'mmprune', 'version.py')
with open(version_file) as f:
    exec(compile(f.read(), version_file, 'exec'))
release = __version__  # noqa: F821

extensions = ['myst_parser']
source_suffix = {'.md': 'markdown'}
myst_heading_anchors = 3
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = []
