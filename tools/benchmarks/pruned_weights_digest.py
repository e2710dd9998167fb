r"""Whether a change to the pruning core changes what it prunes: for every
model-zoo config of the lists (each in a fresh process), build the model,
draw every parameter from N(0, 0.05) with seed 0 (some layers are left
uninitialised until ``init_weights``, which would differ from run to run),
prune it (``l1``, ratio 0.3, round_to 8, a synthetic batch at 128 px) and
print a SHA-256 digest of every parameter's name, shape and values after
pruning, with the time and the pruned parameter count.

    python tools/benchmarks/pruned_weights_digest.py \
        tools/benchmarks/zoo_configs.txt tools/benchmarks/cost_configs.txt \
        --json OUT
    python tools/benchmarks/pruned_weights_digest.py --compare BEFORE AFTER

Run it at two commits (a worktree of each) and ``--compare`` the two
outputs: a change meant only to be faster must give the same digest on
every config. A list line is ``lib::path [size]``, as for
``zoo_sweep.py``.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys
import time

from mmprune.utils.cli import tool_parser

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from zoo_sweep import child_row, read_config_list  # noqa: E402


def digest_one(line: str) -> dict:
    import random

    import numpy as np
    import torch
    from structured_pruning_cost import _model_and_batch, _size

    from mmprune.core.structured import prune_model

    config, _, size = line.partition(' ')
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    model, batches = _model_and_batch(config, _size(size))
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
        for b in model.buffers():
            if b.is_floating_point() and not torch.isfinite(b).all():
                b.zero_()
    start = time.perf_counter()
    result = prune_model(model, batches[0], 'l1', ratio=0.3, round_to=8)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256()
    for name, p in model.named_parameters():
        digest.update(name.encode())
        digest.update(str(tuple(p.shape)).encode())
        digest.update(p.detach().contiguous().numpy().tobytes())
    return dict(
        config=line,
        seconds=round(seconds, 1),
        phases=result.seconds,
        digest=digest.hexdigest()[:16],
        params=sum(p.numel() for p in model.parameters()),
        skipped=len(result.skipped))


def compare(before: str, after: str) -> None:

    def rows(path):
        out = {}
        for text in open(path):
            row = json.loads(text)
            out.setdefault(row['config'], row)
        return out

    a, b = rows(before), rows(after)
    both = [c for c in a if c in b and 'digest' in a[c] and 'digest' in b[c]]
    changed = [c for c in both if a[c]['digest'] != b[c]['digest']]
    for c in changed:
        print(f'changed: {c} ({a[c]["params"]} -> {b[c]["params"]} '
              'parameters)')
    print(f'{len(both) - len(changed)} of {len(both)} configs that ran in '
          'both give the same pruned weights; seconds in all: '
          f'{sum(a[c]["seconds"] for c in both):.1f} -> '
          f'{sum(b[c]["seconds"] for c in both):.1f}')


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('lists', nargs='*')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    parser.add_argument('--json', help='also write the rows as JSON lines')
    parser.add_argument('--timeout', type=int, default=400)
    parser.add_argument(
        '--compare',
        nargs=2,
        metavar=('BEFORE', 'AFTER'),
        help='compare two --json outputs')
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    if args.one:
        print('DIGEST_ROW ' + json.dumps(digest_one(args.one)), flush=True)
        return
    # hashing of strings decides some set orders in the model code
    env = dict(os.environ, PYTHONHASHSEED='0')
    for path in args.lists:
        for line in read_config_list(path):
            row = child_row([__file__, '--one', line], 'DIGEST_ROW',
                            args.timeout, env)
            row.setdefault('config', line)
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, 'a') as f:
                    f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
