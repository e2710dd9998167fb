r"""Prune every model-zoo config of a list and check that what comes back
works: for each config (random init, each in a fresh process), build the
model, make a synthetic batch in its own format (128 px), check that the
unpruned model runs on the CPU, prune it (``l1``, ratio 0.3), run its loss
with backward, predict and tensor forward, then rebuild a fresh model,
replay the recorded history, load the pruned state dict strictly and check
that it predicts exactly what the pruned model does. With ``--export``,
the pruned model is also exported to ONNX and its predictions with the
graphs in ONNX Runtime compared with PyTorch's.

    python tools/benchmarks/zoo_sweep.py tools/benchmarks/zoo_configs.txt \
        [--timeout 300] [--json OUT] [--limit N] [--export]

Prints one row per config: pass, pass with groups skipped (and why), fail,
or not counted (the unpruned model does not run on the CPU or not at that
size, or the config needs a package outside the pinned stack), with
the time of ``prune_model`` split into its phases (those of
``StructuredPruningResult.seconds`` that took 0.05 s or more: tracing,
graph, importance, pruning, check with its roll-backs, ...) and the
process's peak memory. A list line is
``lib::path [size]``: 128 px unless a model needs more.
"""
import argparse
import copy
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from typing import List

from mmprune.utils.cli import tool_parser

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INPUT = 128


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_check(model, size: int) -> str:
    """Export the (pruned) model to ONNX (checked against PyTorch graph by
    graph) and compare whole predictions with the graphs in ONNX Runtime
    against PyTorch's."""
    import torch

    from mmprune.datasets.synthetic_batch import synthetic_test_batch
    from mmprune.deployment import (OnnxRuntimeModel, export_onnx,
                                    predictions_max_difference)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        try:
            manifest = export_onnx(model, path, (size, size))
            data = synthetic_test_batch(model, size, size)
            with torch.no_grad():
                want = model(
                    data['inputs'], data['data_samples'], mode='predict')
            got = OnnxRuntimeModel(model, path).predict_preprocessed(data)
        except Exception as e:  # noqa: BLE001 - a cell, not a crash
            return f'fails: {type(e).__name__}: {str(e)[:200]}'
    diff = predictions_max_difference(want, got)
    graphs = max(g['max_abs_diff'] for g in manifest['graphs'])
    return (f'{len(manifest["graphs"])} graphs (max diff {graphs:.1g}); '
            'predictions ' +
            ('equal' if diff <= 1e-3 else f'differ by {diff:.3g}'))


def zoo_config(config: str):
    """The config of ``lib::path`` read as mmengine reads a child of it,
    with its default scope set; ImportError when its custom_imports name a
    package outside the pinned stack."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmprune  # noqa: F401
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(f'_base_ = {config!r}\n')
    try:
        cfg = Config.fromfile(f.name)
    finally:
        os.remove(f.name)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def build_zoo_model(cfg):
    """The config's model, random init (seed 0), SyncBN as BN for the CPU."""
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS
    torch.manual_seed(0)
    # deep-copied: DETR-family detectors edit their config when built
    return revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))


def check_one(config: str, size: int = INPUT, export: bool = False) -> dict:
    """Everything for one config, in this process; returns the row."""
    import torch

    from mmprune.core.model_family import bounded_structure_runs
    from mmprune.core.structured import prune_model
    from mmprune.core.structured.model_check import run_error
    from mmprune.core.structured.pruning_history import replay_pruning_history
    from mmprune.core.tracing import tensor_forward
    from mmprune.datasets.synthetic_batch import synthetic_batch_of_config

    row = dict(config=config)
    try:
        cfg = zoo_config(config)
    except ImportError as e:  # its custom_imports name another package
        row.update(
            status='not counted',
            detail='needs a package outside '
            f'the pinned stack: {str(e)[:160]}')
        return row

    def build():
        return build_zoo_model(cfg)

    model = build()
    data = synthetic_batch_of_config(model, cfg, (size, size))
    error = run_error(model, data)
    if error is not None:
        row.update(
            status='not counted',
            detail=f'the unpruned model does not run here: {error}')
        return row
    start = time.perf_counter()
    result = prune_model(model, data, 'l1', ratio=0.3)
    row.update(
        seconds=round(time.perf_counter() - start, 1),
        phases=result.seconds,
        params_before=result.params_before,
        params_after=result.params_after)
    skipped = [
        s for s in result.skipped
        if not s['reason'].startswith(('protected', 'frozen'))
    ]
    error = run_error(model, data)
    if error is not None:
        row.update(status='fail', detail=f'pruned model: {error}')
        return row
    fresh = build()
    replay_pruning_history(fresh,
                           synthetic_batch_of_config(fresh, cfg, (size, size)),
                           result.history)
    fresh.load_state_dict(model.state_dict(), strict=True)
    model.eval()
    fresh.eval()
    # compared as the model check runs them (two-stage detectors on 64
    # RoIs per image, see TwoStageDetectors.bounded_structure_runs)
    with torch.no_grad(), bounded_structure_runs(model), \
            bounded_structure_runs(fresh):
        # the same random stream for both: some heads sample in every
        # forward (SegNeXt's matrix-decomposition head draws its bases)
        torch.manual_seed(0)
        a = tensor_forward(model, data)
        torch.manual_seed(0)
        b = tensor_forward(fresh, data)
    if len(a) != len(b) or not all(torch.equal(x, y) for x, y in zip(a, b)):
        row.update(
            status='fail',
            detail='the replayed model predicts '
            'differently from the pruned one')
        return row
    if export:
        row['export'] = export_check(model, size)
    row['status'] = 'pass' if not skipped else \
        f'pass, {len(skipped)} groups kept'
    row['detail'] = '; '.join(sorted({s['reason'][:160]
                                      for s in skipped}))[:600]
    return row


def read_config_list(path: str) -> List[str]:
    """The lines of a config list (``lib::path [size]``: a few models need
    more than 128 px to run), blank lines and ``#`` comments left out."""
    return [
        ' '.join(line.split()) for line in open(path)
        if line.strip() and not line.lstrip().startswith('#')
    ]


def child_row(args: list, marker: str, timeout: int, env: dict) -> dict:
    """Run ``python ARGS`` from the repository root and return the JSON
    after ``marker`` on its last line that has one; ``dict(error=...)``
    when it printed none or ran past ``timeout`` seconds."""
    try:
        proc = subprocess.run(
            [sys.executable] + args,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(error=f'over {timeout} s')
    found = [
        line for line in proc.stdout.splitlines()
        if line.startswith(marker + ' ')
    ]
    if found:
        return json.loads(found[-1][len(marker) + 1:])
    return dict(error=f'exit {proc.returncode}: '
                f'{proc.stderr.strip().splitlines()[-1:]}')


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'list',
        nargs='?',
        default=osp.join(REPO, 'tools/benchmarks/'
                         'zoo_configs.txt'))
    parser.add_argument('--one', help=argparse.SUPPRESS)
    parser.add_argument('--timeout', type=int, default=300)
    parser.add_argument('--limit', type=int)
    parser.add_argument('--json', help='also write the rows as JSON lines')
    parser.add_argument(
        '--export',
        action='store_true',
        help='also export each pruned model to ONNX and '
        'compare its ONNX Runtime predictions')
    args = parser.parse_args()
    if args.one:
        config, _, size = args.one.partition(' ')
        try:
            row = check_one(config, int(size or INPUT), args.export)
        except Exception as e:  # noqa: BLE001 - a row, not a crash
            # where in mmprune (or this sweep) it was raised
            import traceback
            ours = [
                f for f in traceback.extract_tb(e.__traceback__)
                if '/mmprune/' in f.filename or f.filename == __file__
            ]
            where = ' (in ' + ' < '.join(
                f'{osp.basename(f.filename)}:{f.lineno} {f.name}'
                for f in reversed(ours[-4:])) + ')' if ours else ''

            row = dict(
                config=config,
                status='fail',
                detail=f'{type(e).__name__}: {str(e)[:300]}{where}')
        row['peak_mb'] = round(_peak_mb())
        print('ZOO_ROW ' + json.dumps(row), flush=True)
        return
    configs = read_config_list(args.list)
    configs = configs[:args.limit] if args.limit else configs
    env = dict(
        os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    rows = []
    extra = ' ONNX export |' if args.export else ''
    print('| config | result | s | phases (s) | peak MB | params | detail |' +
          extra)
    print('| --- | --- | --- | --- | --- | --- | --- |' +
          (' --- |' if args.export else ''))
    for config in configs:
        row = child_row([__file__, '--one', config] +
                        (['--export'] if args.export else []), 'ZOO_ROW',
                        args.timeout, env)
        row.setdefault('config', config)
        if 'error' in row:
            row.update(status='fail', detail=row.pop('error'))
        rows.append(row)
        params = (f'{row["params_before"] / 1e6:.1f}M -> '
                  f'{row["params_after"] / 1e6:.1f}M'
                  if 'params_after' in row else '')
        name = config.replace(' ', ' @')
        phases = ', '.join(f'{k} {s:.1f}'
                           for k, s in row.get('phases', {}).items()
                           if s >= 0.05)
        print(
            f'| {name} | {row["status"]} | {row.get("seconds", "")} | '
            f'{phases} | {row.get("peak_mb", "")} | {params} | '
            f'{row.get("detail", "")} |' +
            (f' {row.get("export", "")} |' if args.export else ''),
            flush=True)
        if args.json:
            with open(args.json, 'a') as f:
                f.write(json.dumps(row) + '\n')
    counted = [r for r in rows if r['status'] != 'not counted']
    passed = [r for r in counted if r['status'].startswith('pass')]
    print(f'\n{len(passed)} of {len(counted)} counted configs pass '
          f'({sum(r["status"] != "pass" for r in passed)} with groups '
          f'kept); {len(rows) - len(counted)} not counted (not on the CPU, or '
          'outside the pinned stack)')


if __name__ == '__main__':
    main()
