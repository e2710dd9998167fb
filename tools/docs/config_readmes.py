"""Write the README (and metafile.yml) of every config folder from the
configs themselves and the measured tables of docs/en/notes/benchmarks.md,
so the results beside the configs are the benchmark notes' own rows.

    python tools/docs/config_readmes.py           # write them
    python tools/docs/config_readmes.py --check   # fail if one is stale

A config's first comment paragraph says what it is; a benchmark table row
that names the config (in backticks) is one of its measured results.
"""
import argparse
import glob
import os.path as osp
import re
import sys
from typing import Dict, List, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARKS = 'docs/en/notes/benchmarks.md'

FOLDERS = {
    'configs/rtmdet': 'RTMDet-tiny baselines and finetunes (mmdet)',
    'configs/segformer': 'SegFormer-b0 baselines and finetunes (mmseg)',
    'configs/oriented_rcnn':
    'Oriented R-CNN R18 baselines and finetunes (mmrotate)',
    'configs/lsknet': 'LSKNet Oriented R-CNN (mmrotate)',
    'configs/pruning/rtmdet': 'Structured pruning of RTMDet-tiny',
    'configs/pruning/segformer': 'Structured pruning of SegFormer',
    'configs/pruning/oriented_rcnn':
    'Structured pruning of Oriented R-CNN R18',
    'configs/pruning/yolox': 'Iterative slimming of YOLOX',
    'configs/pruning/lsknet': 'Config-declared slimming of LSKNet',
    'configs/distillation': 'Knowledge distillation',
    'configs/sparsity': 'Unstructured sparsity',
}

HEADER = '''# {title}

<!-- Written by tools/docs/config_readmes.py from the configs and
docs/en/notes/benchmarks.md: edit those, then run it. -->

Measured on the synthetic shapes data on a 2-core CPU (AMD EPYC, AVX-512),
2026-11-22 to 2026-12-03; the commands, dates and conditions of each
table are in the [benchmarks](../{up}docs/en/notes/benchmarks.md).
Configs on real datasets (COCO, ADE20K, Cityscapes, DOTA) start from a
trained checkpoint and have **not been measured**: this project has no
real data and no GPU. Latency is in the benchmark notes where it was
measured.

## Configs

| config | what it is | run |
| --- | --- | --- |
'''


def describe(path: str) -> str:
    """The config's first comment paragraph, as one line."""
    lines = []
    for line in open(path):
        if not line.startswith('#'):
            break
        text = line[1:].strip()
        if not text and lines:
            break
        lines.append(text)
    text = ' '.join(lines)
    text = text.split('. ')[0].rstrip('.:') + '.' if text else ''
    return text.replace('|', '/')


def command(path: str) -> str:
    rel = osp.relpath(path, REPO)
    if '_coco' in rel or '_dota' in rel or 'cityscapes' in rel or \
            'ade20k' in rel:
        return f'`python tools/train.py {rel}` (needs its data and checkpoint)'
    return f'`python tools/train.py {rel}`'


def benchmark_tables() -> List[Tuple[str, List[str]]]:
    """(section heading, table lines) of every table of the notes."""
    tables, heading, current = [], '', []
    for line in open(osp.join(REPO, BENCHMARKS)):
        line = line.rstrip('\n')
        if line.startswith('#'):
            heading = line.lstrip('#').strip()
        if line.startswith('|'):
            current.append(line)
        elif current:
            tables.append((heading, current))
            current = []
    if current:
        tables.append((heading, current))
    return tables


def measured_rows(name: str, tables) -> Dict[Tuple[str, str], List[str]]:
    """The rows naming config ``name``, keyed by (section, header)."""
    out: Dict[Tuple[str, str], List[str]] = {}
    pattern = re.compile(r'`(?:[\w./-]*/)?' + re.escape(name) + '`')
    for heading, lines in tables:
        for row in lines[2:]:
            if pattern.search(row):
                out.setdefault((heading, lines[0]), []).append(row)
    return out


def metric_of(header: str, row: str) -> Dict[str, str]:
    cells = [c.strip() for c in header.strip('|').split('|')]
    values = [c.strip() for c in row.strip('|').split('|')]
    found = {}
    for c, v in zip(cells, values):
        if v and re.search(r'mAP|mIoU|params|FLOPs', c):
            found[c] = v.replace('*', '')
    return found


def render(folder: str) -> Tuple[str, str]:
    tables = benchmark_tables()
    up = '../' * folder.count('/')
    text = HEADER.format(title=FOLDERS[folder], up=up)
    configs = sorted(glob.glob(osp.join(REPO, folder, '*.py')))
    results: Dict[Tuple[str, str], List[str]] = {}
    meta = ['Models:']
    for path in configs:
        name = osp.basename(path)
        text += f'| `{name}` | {describe(path)} | {command(path)} |\n'
        rows = measured_rows(name, tables)
        for key, found in rows.items():
            for row in found:
                if row not in results.setdefault(key, []):
                    results[key].append(row)
        meta += [
            f'  - Name: {osp.splitext(name)[0]}',
            f'    Config: {folder}/{name}'
        ]
        first = next(iter(rows.items()), None)
        if first is None:
            meta.append('    Results: null  # not measured')
            continue
        (_, header), found = first
        meta += [
            '    Results:', '      - Dataset: shapes (synthetic)',
            '        Metrics:'
        ]
        for k, v in metric_of(header, found[0]).items():
            meta.append(f'          {k!r}: {v!r}')
    text += '\n## Measured results\n\n'
    if not results:
        text += ('None of these configs has been measured yet (see the '
                 'benchmark notes for related figures).\n')
    controls = {
        (h, t[0]): [r for r in t[2:] if '(control)' in r]
        for h, t in tables
    }
    for (heading, header), rows in results.items():
        # the unpruned control of the same table, for scale
        rows = [
            r for r in controls.get((heading, header), []) if r not in rows
        ] + rows
        cols = header.count('|') - 1
        text += (f'From "{heading}" in the benchmark notes:\n\n{header}\n' +
                 '| --- ' * cols + '|\n' + '\n'.join(rows) + '\n\n')
    return text.rstrip() + '\n', '\n'.join(meta) + '\n'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--check',
        action='store_true',
        help='only compare; exit 1 when a file is stale')
    args = parser.parse_args(argv)
    stale = []
    for folder in FOLDERS:
        readme, metafile = render(folder)
        for fname, content in (('README.md', readme), ('metafile.yml',
                                                       metafile)):
            path = osp.join(REPO, folder, fname)
            old = open(path).read() if osp.exists(path) else None
            if old != content:
                stale.append(osp.relpath(path, REPO))
                if not args.check:
                    with open(path, 'w') as f:
                        f.write(content)
    if args.check and stale:
        print('stale (run tools/docs/config_readmes.py): ' + ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
