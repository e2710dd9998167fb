r"""Where the time of a structured prune goes, per model-zoo config, beside
Torch-Pruning alone on the same model and batch.

    python tools/benchmarks/structured_pruning_cost.py [LIST] \
        [--json OUT] [--timeout 900]
    python tools/benchmarks/structured_pruning_cost.py --sensitivity \
        [--json OUT]

Each config runs in a fresh process (random init, CPU, a synthetic batch in
the model's own format), so that its peak memory is its own. A list line
is ``lib::path [SIZE]``, SIZE one number (square) or ``HxW``; 128 px when
it has none (``tools/benchmarks/cost_configs.txt``).

Per config: ``prune_model`` (``l1``, ratio 0.3, round_to 8, the zoo
sweep's prune) with its seconds split into phases
(``StructuredPruningResult.seconds``: tracing, graph, importance, pruning,
measures, check with its roll-backs) and the process's peak RSS after it;
then, in the same process, a copy of the unpruned model pruned by
Torch-Pruning alone: its ``MetaPruner`` (``MagnitudeImportance(p=1)``,
ratio 0.3, round_to 8, the layers mmprune keeps given as
``ignored_layers``, the detector's ``mode='tensor'`` forward) built and
stepped, timed, and the model it hands back put through mmprune's model
check (loss with backward, predict, tensor forward); stopped after 180 s
(its group search has no bound of its own). Where Torch-Pruning's model
runs, both are then timed again in turn on fresh copies (5 times each,
after the first runs: the process's one-time costs fall on neither; each
run after a full garbage collection, so that it pays for the collections
its own allocations set off, not for one that the runs before it built
up), and ``mmprune / TP`` is the ratio of the medians; also given beside
Torch-Pruning followed by the model check.

``--sensitivity``: RTMDet-s at 640 px and Faster R-CNN R50 at 800x1333
(their test sizes): a uniform ``group_norm`` 2x FLOPs prune, the same
target with ``allocation='sensitivity'`` (the loss over 4 batches, as
``tools/prune.py`` takes them; the scan kept in a fresh cache folder),
then 2.5x with the same cache (the scan read back); each time as a
multiple of the uniform prune.
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import resource
import sys
import tempfile
import time

from mmprune.utils.cli import tool_parser

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIST = osp.join(REPO, 'tools', 'benchmarks', 'cost_configs.txt')
#: side-by-side runs per config where Torch-Pruning's model runs
REPEATS = 5
#: the zoo sweep's prune, for mmprune and Torch-Pruning alike
RATIO, ROUND_TO = 0.3, 8
SENSITIVITY = ('mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py 640',
               'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py 800x1333')


def _peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _size(text: str) -> tuple:
    h, _, w = (text or '128').partition('x')
    return int(h), int(w or h)


def _model_and_batch(config: str, size: tuple, batches: int = 1):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from zoo_sweep import build_zoo_model, zoo_config

    from mmprune.datasets.synthetic_batch import synthetic_batch_of_config
    cfg = zoo_config(config)
    model = build_zoo_model(cfg)
    data = [
        synthetic_batch_of_config(model, cfg, size) for _ in range(batches)
    ]
    return model, data


class _OverTime(Exception):
    pass


def _over_time(signum, frame):
    raise _OverTime()


def torch_pruning_alone(model, data: dict, kept, limit: int = 180) -> dict:
    """Torch-Pruning's DependencyGraph and MetaPruner on ``model`` (pruned
    in place), timed; whether what it hands back runs. Stopped after
    ``limit`` seconds: its group search has no bound of its own."""
    import signal

    import torch_pruning as tp

    from mmprune.core.structured.model_check import run_error
    from mmprune.core.tracing import tensor_forward
    modules = dict(model.named_modules())
    model.eval()
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _over_time)
    signal.alarm(limit)
    try:
        pruner = tp.pruner.MetaPruner(
            model,
            data,
            importance=tp.importance.MagnitudeImportance(p=1),
            pruning_ratio=RATIO,
            ignored_layers=[modules[n] for n in kept],
            round_to=ROUND_TO,
            forward_fn=tensor_forward)
        graph = time.perf_counter() - start
        pruner.step()
    except _OverTime:
        return dict(seconds=limit, status=f'stopped after {limit} s')
    except Exception as e:  # noqa: BLE001 - a cell, not a crash
        return dict(
            seconds=round(time.perf_counter() - start, 1),
            status=f'fails: {type(e).__name__}: {str(e)[:120]}')
    finally:
        signal.alarm(0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    error = run_error(model, data)
    return dict(
        seconds=round(seconds, 3),
        graph=round(graph, 3),
        check_seconds=round(time.perf_counter() - start, 3),
        status='runs' if error is None else f'its model fails: {error[:120]}')


def _mmprune(model, data: dict):
    from mmprune.core.structured import prune_model
    return prune_model(model, data, 'l1', ratio=RATIO, round_to=ROUND_TO)


def measure_one(config: str, size: tuple) -> dict:
    from mmprune.core.structured import PruningOptions
    from mmprune.core.structured.layers import kept_layers_of
    model, (data, ) = _model_and_batch(config, size)
    unpruned = copy.deepcopy(model)
    start = time.perf_counter()
    result = _mmprune(model, data)
    row = dict(
        config=config,
        size=list(size),
        seconds=round(time.perf_counter() - start, 2),
        phases=result.seconds,
        peak_mb=_peak_mb(),
        params=sum(p.numel() for p in unpruned.parameters()),
        params_after=result.params_after,
        rolled_back=sum(1 for s in result.skipped
                        if s['reason'].startswith('pruning its group broke')))
    del model, result
    kept, _ = kept_layers_of(unpruned, PruningOptions(ratio=RATIO))
    row['torch_pruning'] = torch_pruning_alone(
        copy.deepcopy(unpruned), data, kept)
    if row['torch_pruning']['status'] == 'runs':
        row['side_by_side'] = side_by_side(unpruned, data, kept)
    return row


def side_by_side(model, data: dict, kept, repeats: int = REPEATS) -> dict:
    """Median seconds of ``prune_model`` and of Torch-Pruning alone, each
    on a fresh copy of ``model``, taken in turn ``repeats`` times in a
    process both have already run in: the first prune of a process also
    pays its one-time costs (oneDNN's kernel choice, lazy imports; 0.79 s
    against 0.44-0.52 s for RTMDet-s at 128 px), which the one run second
    would not. Each run starts after a full collection: without one, the
    full collection that the copies and both prunes together set off
    about once a round (0.18 s on EfficientNet-B3) fell in the same run
    each round, mmprune's."""
    import statistics
    ours, theirs, checked = [], [], []
    for _ in range(repeats):
        trial = copy.deepcopy(model)
        gc.collect()
        start = time.perf_counter()
        _mmprune(trial, data)
        ours.append(time.perf_counter() - start)
        trial = copy.deepcopy(model)
        gc.collect()
        tp = torch_pruning_alone(trial, data, kept)
        theirs.append(tp['seconds'])
        checked.append(tp['seconds'] + tp['check_seconds'])
    mmprune_s, tp_s = statistics.median(ours), statistics.median(theirs)
    return dict(
        mmprune_seconds=round(mmprune_s, 3),
        torch_pruning_seconds=round(tp_s, 3),
        ratio=round(mmprune_s / tp_s, 2),
        # beside Torch-Pruning followed by the same model check, which is
        # what tells its user whether the model it handed back runs
        ratio_to_checked=round(mmprune_s / statistics.median(checked), 2),
        repeats=repeats)


def measure_sensitivity(config: str, size: tuple) -> dict:
    from mmprune.analysis.pruning_meter import PruningMeter
    from mmprune.core.structured import prune_model
    model, batches = _model_and_batch(config, size, batches=5)
    flops = PruningMeter(size, 'torch').flops
    row = dict(config=config, size=list(size))
    cache = tempfile.mkdtemp()
    runs = (('uniform 2x', 2.0, 'uniform'), ('sensitivity 2x', 2.0,
                                             'sensitivity'),
            ('sensitivity 2.5x, scan read back', 2.5, 'sensitivity'))
    for name, speed_up, allocation in runs:
        trial = copy.deepcopy(model)
        start = time.perf_counter()
        result = prune_model(
            trial,
            batches[0],
            'group_norm',
            speed_up=speed_up,
            allocation=allocation,
            gradient_data=batches[1:],
            flops_fn=flops,
            sensitivity_cache=cache)
        row[name] = dict(
            seconds=round(time.perf_counter() - start, 1),
            phases=result.seconds,
            speed_up=round(result.speed_up, 2))
        del trial
    row['peak_mb'] = _peak_mb()
    return row


def _child(args) -> None:
    config, _, size = args.one.partition(' ')
    measure = measure_sensitivity if args.sensitivity else measure_one
    try:
        row = measure(config, _size(size))
    except Exception as e:  # noqa: BLE001 - a row, not a crash
        row = dict(
            config=config,
            status=f'fails: {type(e).__name__}: {str(e)[:200]}',
            peak_mb=_peak_mb())
    print('COST_ROW ' + json.dumps(row), flush=True)


def _print(row: dict, sensitivity: bool) -> None:
    name = row['config'].split('::')[-1].rsplit('/', 1)[-1][:-3]
    size = 'x'.join(str(s) for s in row.get('size', []))
    if 'status' in row:
        print(f'| {name} | {size} | {row["status"]} |', flush=True)
        return
    if sensitivity:
        base = row['uniform 2x']['seconds']
        cells = [
            f'{r["seconds"]} s ({r["seconds"] / base:.1f}x, '
            f'{r["speed_up"]}x fewer FLOPs)' for k, r in row.items()
            if isinstance(r, dict)
        ]
        print(
            f'| {name} | {size} | ' + ' | '.join(cells) +
            f' | {row["peak_mb"]} |',
            flush=True)
        return
    tp = row['torch_pruning']
    both = row.get('side_by_side')
    ratio = (f'{both["ratio"]:.1f} ({both["mmprune_seconds"]} / '
             f'{both["torch_pruning_seconds"]} s; '
             f'{both["ratio_to_checked"]:.1f} with its model checked)'
             if both else '')
    phases = ', '.join(f'{k} {s:.1f}' for k, s in row['phases'].items()
                       if s >= 0.05)
    print(
        f'| {name} | {size} | {row["params"] / 1e6:.1f}M | '
        f'{row["seconds"]} | {phases} | {row["rolled_back"]} | '
        f'{row["peak_mb"]} | {tp["seconds"]} ({tp["status"]}) | {ratio} |',
        flush=True)


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('list', nargs='?', default=LIST)
    parser.add_argument('--sensitivity', action='store_true')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    parser.add_argument('--timeout', type=int, default=900)
    parser.add_argument('--json', help='also write the rows as JSON lines')
    args = parser.parse_args()
    if args.one:
        _child(args)
        return
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from zoo_sweep import child_row
    configs = SENSITIVITY if args.sensitivity else [
        ' '.join(line.split()) for line in open(args.list)
        if line.strip() and not line.startswith('#')
    ]
    if args.sensitivity:
        print('| model | size | uniform 2x | sensitivity 2x | sensitivity '
              '2.5x, scan read back | peak MB |\n| --- | --- | --- | --- | '
              '--- | --- |')
    else:
        print('| model | size | params | mmprune s | phases (s) | rolled '
              'back | peak MB | Torch-Pruning alone s | mmprune / TP |\n'
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    env = dict(
        os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    for config in configs:
        row = child_row([__file__, '--one', config] +
                        (['--sensitivity'] if args.sensitivity else []),
                        'COST_ROW', args.timeout, env)
        row.setdefault('config', config)
        if 'error' in row:
            row['status'] = row.pop('error')
        _print(row, args.sensitivity)
        if args.json:
            with open(args.json, 'a') as f:
                f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
