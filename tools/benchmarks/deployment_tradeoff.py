"""Accuracy against measured latency of deployed models: each checkpoint
exported end to end at each input size, in FP32 and INT8, tested on the
config's test set and timed in ONNX Runtime on this CPU; one table and one
PNG to pick the point to ship.

    python tools/benchmarks/deployment_tradeoff.py \
        --model unpruned CONFIG CKPT --model "pruned 2x" CONFIG2 CKPT2 \
        [--input-sizes 256 192 160] [--calib-images 200] \
        [--latency-runs 50] [--repeats 3] --out DIR

Every graph is timed in this one process, in rounds that visit each graph
in turn (so drift on a shared machine touches all alike), on the same test
image; a graph's latency is the median over rounds of its per-round
median. Speed-ups are against the first model's FP32 graph at the first
size. PyTorch rows are the checkpoint tested at that size, and the same
end-to-end module timed in PyTorch (NMS by mmcv).
Writes DIR/tradeoff.json, DIR/tradeoff.md and DIR/tradeoff.png.
"""
import argparse
import json
import os.path as osp
import re
import statistics

import torch
from mmengine.logging import MMLogger

import mmprune  # noqa: F401  (compat shims + registries, before mmrotate)
from mmprune.analysis.latency import time_calls, torch_threads
from mmprune.analysis.latency_breakdown import end2end_latency_split
from mmprune.deployment import load_deployable_model
from mmprune.deployment.deploy_data import dataset_loader, graph_inputs
from mmprune.deployment.end2end import end2end_graph
from mmprune.deployment.end2end.export import export_end2end
from mmprune.deployment.end2end.predictor import End2EndOnnxModel
from mmprune.deployment.evaluation import (evaluate, main_metric,
                                           torch_predictor)
from mmprune.deployment.onnx_export import ort_session
from mmprune.deployment.quantization import copy_manifest, quantize_onnx
from mmprune.utils import dump_json_atomic, read_config
from mmprune.utils.cli import tool_parser
from mmprune.utils.outputs import prepare_output_dir


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('LABEL', 'CONFIG', 'CHECKPOINT'),
        help='a model to deploy (the first is the reference)')
    parser.add_argument(
        '--input-sizes',
        type=int,
        nargs='+',
        default=[256],
        help='square input sizes, the first the reference')
    parser.add_argument('--calib-images', type=int, default=200)
    parser.add_argument('--latency-runs', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--threads', type=int, default=2, help='ONNX Runtime threads')
    parser.add_argument(
        '--max-images',
        type=int,
        default=0,
        help='test images per evaluation (0: all)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--from-json',
        action='store_true',
        help='redraw the table and plot from --out/tradeoff.json only')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace earlier results')
    return parser.parse_args(argv)


def slug(label: str) -> str:
    return re.sub(r'[^A-Za-z0-9.]+', '-', label).strip('-')


def deploy_one(label, cfg, checkpoint, size, args, logger) -> list:
    """Export, quantize and test one model at one size; rows without
    latency."""
    shape = (size, size)
    model = load_deployable_model(cfg, checkpoint)
    graph = end2end_graph(model, shape)
    pad = graph.preprocess['pad_pixel']
    images = [
        i for i, _ in graph_inputs(
            dataset_loader(cfg, 'test', shape), shape, pad, 4)
    ]
    stem = osp.join(args.out, f'{slug(label)}_{size}')
    fp32 = export_end2end(model, stem + '.onnx', shape, images, graph)
    calib = (i.numpy() for i, _ in graph_inputs(
        dataset_loader(cfg, 'train', shape, pipeline_of='test'), shape, pad,
        args.calib_images))
    report = quantize_onnx(stem + '.onnx', stem + '.int8.onnx', calib,
                           args.calib_images)
    copy_manifest(stem + '.onnx', stem + '.int8.onnx', report)
    with torch.no_grad(), torch_threads(args.threads) as n:
        torch_ms = time_calls(lambda: graph.module(images[0]), 'torch', n,
                              args.latency_runs)
    rows = []
    for runtime, predict, path in (
        ('pytorch', torch_predictor(model), None),
        ('onnx-fp32', None, stem + '.onnx'),
        ('onnx-int8', None, stem + '.int8.onnx'),
    ):
        if predict is None:
            predict = End2EndOnnxModel(path, args.threads).predict
        logger.info(f'{label}, {size} px, {runtime}: testing')
        metrics = evaluate(cfg, predict, shape, args.max_images)
        key, value = main_metric(metrics)
        rows.append(
            dict(
                model=label,
                size=size,
                runtime=runtime,
                file=path,
                params=sum(p.numel() for p in model.parameters()),
                metric=key,
                accuracy=value,
                torch_ms=torch_ms.median_ms if runtime == 'pytorch' else None,
                agreement=fp32['check']['summary']
                if runtime == 'onnx-fp32' else None))
    return rows, images[0].numpy()


def time_graphs(rows: list, images: dict, args, logger) -> None:
    """Each ONNX row's latency, measured in rounds over all graphs."""
    graphs = [r for r in rows if r['file']]
    sessions = [ort_session(r['file'], args.threads) for r in graphs]
    per_round = [[] for _ in graphs]
    for k in range(args.repeats):
        for i, (row, session) in enumerate(zip(graphs, sessions)):
            feed = {'image': images[row['size']]}
            stats = time_calls(
                lambda s=session, f=feed: s.run(None, f),
                'onnxruntime',
                args.threads,
                args.latency_runs)
            per_round[i].append(stats.median_ms)
        logger.info(f'latency round {k + 1}/{args.repeats} done')
    for row, times in zip(graphs, per_round):
        row['latency_ms'] = round(statistics.median(times), 3)
        row['latency_rounds_ms'] = times
        # where the time goes: the network against the steps around it
        row['node_ms'] = end2end_latency_split(
            row['file'],
            images[row['size']],
            args.latency_runs,
            threads=args.threads)


def table(rows: list) -> str:
    ref = next(r for r in rows if r['runtime'] == 'onnx-fp32')
    ref_acc = next(r['accuracy'] for r in rows if r['runtime'] == 'pytorch'
                   and r['model'] == ref['model'] and r['size'] == ref['size'])
    lines = [
        f'| model | input | runtime | params | {ref["metric"]} | of the '
        'reference | ONNX Runtime latency (ms) | speed-up | '
        'network / post-processing ms (node profile) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for r in rows:
        lat = r.get('latency_ms')
        lines.append(f'| {r["model"]} | {r["size"]} | {r["runtime"]} | '
                     f'{r["params"] / 1e6:.2f}M | {r["accuracy"]:.3f} | '
                     f'{r["accuracy"] / ref_acc:.1%} | ' +
                     (_latency(r, ref)
                      if lat else f'(PyTorch: {r["torch_ms"]:.1f}) | | |'))
    return '\n'.join(lines)


def _latency(row: dict, ref: dict) -> str:
    lat, node = row['latency_ms'], row.get('node_ms', {})
    rounds = ', '.join(f'{t:.1f}' for t in row['latency_rounds_ms'])
    return (f'{lat:.1f} ({rounds}) | {ref["latency_ms"] / lat:.2f}x | '
            f'{node.get("network", 0):.1f} / '
            f'{node.get("post_processing", 0):.1f} |')


def plot(rows: list, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    markers = dict(
        zip(sorted({r['size']
                    for r in rows}, reverse=True), 'osD^v'))
    for runtime, color in (('onnx-fp32', 'tab:blue'), ('onnx-int8',
                                                       'tab:red')):
        for label in dict.fromkeys(r['model'] for r in rows):
            pts = [
                r for r in rows
                if r['runtime'] == runtime and r['model'] == label
            ]
            ax.plot([r['latency_ms'] for r in pts],
                    [r['accuracy'] for r in pts],
                    color=color,
                    alpha=0.35)
            for r in pts:
                ax.scatter(
                    r['latency_ms'],
                    r['accuracy'],
                    color=color,
                    marker=markers[r['size']])
                ax.annotate(
                    f'{label} {r["size"]}', (r['latency_ms'], r['accuracy']),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords='offset points')
    for runtime, color in (('FP32', 'tab:blue'), ('INT8', 'tab:red')):
        ax.scatter([], [], color=color, label=f'ONNX Runtime {runtime}')
    for size, m in markers.items():
        ax.scatter([], [], color='gray', marker=m, label=f'{size} px')
    ax.set_xlabel('latency, batch 1, ONNX Runtime CPU (ms, end to end)')
    ax.set_ylabel(rows[0]['metric'] + ' (test set)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(rows: list, out: str, logger) -> None:
    md = table(rows)
    with open(osp.join(out, 'tradeoff.md'), 'w') as f:
        f.write(md + '\n')
    plot(rows, osp.join(out, 'tradeoff.png'))
    logger.info('\n' + md)
    logger.info(f'wrote {out}/tradeoff.json, .md and .png')


def main(argv=None) -> None:
    args = parse_args(argv)
    logger = MMLogger.get_instance('mmprune.tradeoff', log_level='INFO')
    if args.from_json:
        with open(osp.join(args.out, 'tradeoff.json')) as f:
            write_results(json.load(f)['rows'], args.out, logger)
        return
    for name in ('calib_images', 'latency_runs', 'repeats', 'threads'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name.replace("_", "-")} must be >= 1')
    configs = {}
    for label, config, checkpoint in args.model:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'--model {label}: checkpoint '
                                    f'"{checkpoint}" not found')
        configs[label] = read_config(config)
    prepare_output_dir(args.out, '--out', ['tradeoff.json'], args.overwrite)
    rows, images = [], {}
    for size in args.input_sizes:
        for label, _, checkpoint in args.model:
            got, images[size] = deploy_one(label, configs[label], checkpoint,
                                           size, args, logger)
            rows += got
    time_graphs(rows, images, args, logger)
    dump_json_atomic(
        dict(
            rows=rows,
            threads=args.threads,
            runs=args.latency_runs,
            repeats=args.repeats), osp.join(args.out, 'tradeoff.json'))
    write_results(rows, args.out, logger)


if __name__ == '__main__':
    main()
