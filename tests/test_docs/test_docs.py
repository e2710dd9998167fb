"""The documentation stays true: it builds with warnings as errors, and
every config, tool and file path it names exists."""
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest
from conftest import REPO

DOCS = sorted(
    glob.glob(osp.join(REPO, 'docs', 'en', '**', '*.md'), recursive=True))
PAGES = [osp.join(REPO, 'README.md')] + DOCS + sorted(
    glob.glob(osp.join(REPO, 'configs', '**', 'README.md'), recursive=True))
# a repository path inside backticks or a link: configs/, tools/, mmprune/,
# tests/, requirements/, docs/ up to a file suffix
PATH = re.compile(r'(?<![\w./:-])((?:configs|tools|mmprune|tests|requirements'
                  r'|docs)/[\w./{}<>*-]*[\w*}>])')


def named_paths(text: str):
    for m in PATH.finditer(text):
        path = m.group(1).rstrip('.')
        if re.search(r'[<>{}*]', path):  # a pattern, not a file
            continue
        yield path


def test_docs_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip('myst_parser')
    proc = subprocess.run([
        sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b',
        'html',
        osp.join(REPO, 'docs', 'en'),
        str(tmp_path / 'html')
    ],
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert (tmp_path / 'html' / 'user_guides' /
            'prune_your_model.html').is_file()


def test_every_path_the_docs_name_exists():
    assert len(DOCS) >= 15
    missing = []
    for page in PAGES:
        text = open(page).read()
        for path in set(named_paths(text)):
            if not osp.exists(osp.join(REPO, path)) and not osp.exists(
                    osp.join(osp.dirname(page), path)):
                missing.append(f'{osp.relpath(page, REPO)}: {path}')
        # markdown links between pages
        for link in re.findall(r'\]\(([^)#\s]+)', text):
            if '://' in link:
                continue
            if not osp.exists(osp.join(osp.dirname(page), link)):
                missing.append(f'{osp.relpath(page, REPO)}: link {link}')
    assert not missing, '\n'.join(sorted(missing))


def test_the_readme_is_short_and_has_the_quick_start():
    text = open(osp.join(REPO, 'README.md')).read()
    assert len(text.splitlines()) < 200
    assert '<!-- quick-start -->' in text
    assert 'bash tools/main_job.sh' in text and \
        'bash tools/run_tests.sh' in text


def test_config_readmes_hold_the_benchmark_notes_rows():
    """Each config folder's README and metafile.yml are what
    tools/docs/config_readmes.py writes from the configs and the notes."""
    proc = subprocess.run(
        [sys.executable, 'tools/docs/config_readmes.py', '--check'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folders = {
        osp.dirname(p)
        for p in glob.glob(
            osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    }
    for folder in folders:
        assert osp.isfile(osp.join(folder, 'README.md')), folder
