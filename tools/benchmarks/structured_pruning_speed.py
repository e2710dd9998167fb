r"""Realised latency speed-up against the FLOPs reduction, in PyTorch and
in ONNX Runtime (CPU), when real model-zoo models (random init) are pruned
with l1 and ``round_to=8`` (or each ``--round-to`` given: ``measured``
chooses it by timing widths in ONNX Runtime): once to a 2x FLOPs target
(``speed_up=2.0``), once to a measured 2x ONNX Runtime latency target
(``latency_speed_up=2.0``). Both runtimes time the same graphs (backbone,
neck, dense head; a two-stage detector's RoI heads on the RPN's test
proposal count); post-processing is outside both. Each model in a fresh
process. The unpruned and the pruned model are timed in alternation, 3
rounds per runtime (a fresh ONNX Runtime session each round); each
model's figure is its best round's median of 10 timed runs of one image
after 3 warm-up runs, so a slow spell of the machine cannot fall on one
model only. Threads as set by OMP_NUM_THREADS (the README's figures: 2).
Models trace on a synthetic training batch.

    OMP_NUM_THREADS=2 python tools/benchmarks/structured_pruning_speed.py \
        [--models RTMDet] [--targets speed_up] [--prune-stem] \
        [--round-to 8 measured]

``--models`` keeps the models whose name contains one of the words,
``--targets`` the targets named, ``--prune-stem`` prunes the input stem's
output channels too (``PruningOptions.prune_stem``).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys

import torch

from mmprune.utils.cli import tool_parser

RUNS, ROUNDS = 10, 3
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# name: (config, H, W); every model traces on a synthetic training batch
# in its own format (TRACE px); FLOPs and latency are measured at H x W
TRACE = (256, 256)
MODELS = {
    'RTMDet-tiny (mmdet)':
    ('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 640, 640),
    'YOLOX-s (mmdet)': ('mmdet::yolox/yolox_s_8xb8-300e_coco.py', 640, 640),
    'SegFormer mit-b0 (mmseg)':
    ('mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py', 512,
     512),
    'Faster R-CNN R50-FPN (mmdet)':
    ('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 800, 800),
}


def measure(config: str,
            h: int,
            w: int,
            targets=('speed_up', 'latency_speed_up'),
            prune_stem: bool = False,
            round_tos=('8', )) -> dict:
    import copy
    import tempfile

    from mmengine.config import Config

    import mmprune  # noqa: F401
    from mmprune.analysis.latency import paired_latencies
    from mmprune.analysis.pruning_meter import PruningMeter
    from mmprune.core.structured import prune_model
    from mmprune.datasets.synthetic_batch import synthetic_batch_of_config
    from mmprune.models.builder import build_model_from
    path = osp.join(tempfile.mkdtemp(), 'zoo.py')
    with open(path, 'w') as f:  # no pretrained download
        f.write(f'_base_ = [{config!r}]\n'
                'model = dict(backbone=dict(init_cfg=None))\n')
    cfg = Config.fromfile(path)
    out = {}
    for target, round_to in [(t, r) for t in targets for r in round_tos]:
        torch.manual_seed(0)
        model = build_model_from(cfg)
        data = synthetic_batch_of_config(model, cfg, TRACE)

        meter = PruningMeter((h, w), 'onnxruntime', latency_runs=10)
        reference = copy.deepcopy(model)
        result = prune_model(
            model,
            data,
            'l1',
            allocation='uniform',  # equal steps, as the notes' tables
            round_to=int(round_to) if round_to.isdigit() else round_to,
            prune_stem=prune_stem,
            **meter.prune_kwargs(),
            **{target: 2.0})
        out[f'{target} round_to={round_to}'] = dict(
            round_to_choice=result.round_to_choice,
            flops_before=result.flops_before,
            flops_after=result.flops_after,
            params_before=result.params_before,
            params_after=result.params_after,
            steps=result.steps,
            target_reached=result.target_reached,
            target_latency=[result.latency_before, result.latency_after],
            latency_checks=result.latency_checks,
            latency=paired_latencies(reference, model, (h, w), ROUNDS, RUNS))
        del reference
    return out


def _ms(stats: dict) -> str:
    return f'{stats["median_ms"]:.1f}' if 'median_ms' in stats else 'n/a'


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--models', nargs='*', help='words of the model names to run')
    parser.add_argument(
        '--targets',
        nargs='*',
        choices=['speed_up', 'latency_speed_up'],
        default=['speed_up', 'latency_speed_up'])
    parser.add_argument('--prune-stem', action='store_true')
    parser.add_argument(
        '--round-to',
        nargs='+',
        default=['8'],
        help='integers, or "measured" (each is run)')
    parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one model, in this process
        config, h, w = args.child
        out = measure(config, int(h), int(w), args.targets, args.prune_stem,
                      args.round_to)
        print()  # after any progress bar: the parent reads the last line
        print(json.dumps(out))
        return
    rows = {}
    for name, (config, h, w) in MODELS.items():
        if args.models and not any(k in name for k in args.models):
            continue
        out = subprocess.run(
            [
                sys.executable, __file__, '--child', config,
                str(h),
                str(w), '--targets', *args.targets, '--round-to',
                *args.round_to
            ] + (['--prune-stem'] if args.prune_stem else []),
            cwd=REPO,
            capture_output=True,
            text=True)
        if out.returncode:
            print(f'{name}: failed\n{out.stderr[-3000:]}', file=sys.stderr)
            continue
        rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
    for target, title in (('speed_up', 'pruned to speed_up=2.0 (FLOPs)'),
                          ('latency_speed_up', 'pruned to latency_speed_up='
                           '2.0 on ONNX Runtime')):
        if target not in args.targets:
            continue
        for round_to in args.round_to:
            table(rows, target, round_to,
                  title + (', input stem pruned' if args.prune_stem else ''))


def table(rows: dict, target: str, round_to: str, title: str) -> None:
    """One markdown table: every model at one target and round_to."""
    key = f'{target} round_to={round_to}'
    print(f'\n{title}, round_to={round_to}\n')
    print('| model (input) | GFLOPs | FLOPs reduction | PyTorch ms | '
          'PyTorch speed-up (/ FLOPs) | ONNX Runtime ms | ONNX Runtime '
          'speed-up (/ FLOPs) |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, r in rows.items():
        r = r[key]
        fr = r['flops_before'] / r['flops_after']
        cells = []
        for rt in ('torch', 'onnxruntime'):
            lat = r['latency'][rt]
            su = lat['speed_up']
            cells.append(f'{_ms(lat["before"])} -> {_ms(lat["after"])}')
            cells.append(f'{su:.2f}x ({su / fr:.2f})')
        h, w = MODELS[name][1:]
        print(f'| {name} ({h}x{w}) | {r["flops_before"] / 1e9:.2f} -> '
              f'{r["flops_after"] / 1e9:.2f} | {fr:.2f}x | ' +
              ' | '.join(cells) + ' |')
    for name, r in rows.items():
        r = r[key]
        if r['round_to_choice']:
            scores = ', '.join(
                f'{k}: {v}' for k, v in r['round_to_choice']['scores'].items())
            print(f'\n{name}: round_to={r["round_to_choice"]["round_to"]} '
                  'measured (time per multiply-add kept by candidate: '
                  f'{scores})')
        if target == 'latency_speed_up':
            # what the stepping itself measured, step by step
            checks = ', '.join(f'{c["speed_up"]:.2f}x' +
                               (f' (confirmed by {c["confirmed_by"]:.2f}x)'
                                if 'confirmed_by' in c else '')
                               for c in r['latency_checks'])
            print(f'\n{name}: {r["steps"]} steps, measured while '
                  f'stepping: {checks}')


if __name__ == '__main__':
    main()
