"""Where inference time goes, part by part (backbone stem and stages, neck,
heads, post-processing), in PyTorch and in ONNX Runtime: what a user reads
to see why latency falls less than FLOPs after pruning.

PyTorch: forward hooks time each part inside a full ``predict`` (batch 1);
what no part holds (box decoding, NMS, RoI Align, resizing a segmentation
map, the data preprocessor) is "post-processing and the rest". ONNX
Runtime: its node profile, each node assigned to a part by the module path
the TorchScript exporter writes into node names. Parts are the model's
top-level modules, the backbone split into its children (stem and stages).
"""
import json
import os
import re
import statistics
import time
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from mmprune.datasets.synthetic_batch import synthetic_test_batch
from mmprune.utils.device import synchronizer
from .latency import onnxruntime_providers, random_feed

REST = 'post-processing and the rest'


def breakdown_parts(model: nn.Module) -> List[str]:
    """Module names timed as parts, in model order: each child of the
    backbone (stem, stages), then every other top-level module that holds
    parameters (neck, heads), a RoI head split into its children."""
    parts = []
    for name, child in model.named_children():
        if name in ('data_preprocessor', 'auxiliary_head') or \
                not any(True for _ in child.parameters()):
            continue
        if name == 'backbone':  # the stem's ReLU and pooling too
            parts += [f'{name}.{n}' for n, _ in child.named_children()]
        elif name == 'roi_head':
            parts += [
                f'{name}.{n}' for n, c in child.named_children()
                if any(True for _ in c.parameters())
            ]
        else:
            parts.append(name)
    return parts


REORDERS = 'layout reorders of graph inputs and outputs'
# ONNX Runtime's CPU kernels compute in a blocked layout (NCHWc); the
# graph's outputs (a two-stage detector's features for its RoI stage, the
# head outputs) are converted back to NCHW by nodes named after them
_REORDER = re.compile(r'^((feat|head|out)\d+_nchwc|Reorder(In|Out)put.*)$')


def _part_of(node: str, parts: List[str], aliases: Dict[str, str]) -> str:
    """The part an ONNX node belongs to, from its scope name
    (``/model/backbone/stage1/...``); the graph wrapper's own attribute
    names are mapped through ``aliases``."""
    if _REORDER.match(node):
        return REORDERS
    node = re.sub(r'_output_\d+_nchwc$', '', node)
    path = [p for p in node.split('/')[1:-1] if p]
    if path and path[0] in aliases:
        path = aliases[path[0]].split('.') + path[1:]
    elif path and path[0] == 'model':
        path = path[1:]
    name = '.'.join(path)
    for part in parts:
        if name == part or name.startswith(part + '.'):
            return part
    return REST


@torch.no_grad()
def torch_latency_breakdown(model: nn.Module,
                            input_shape: Tuple[int, int] = (640, 640),
                            runs: int = 10,
                            warmup: int = 2) -> Dict[str, float]:
    """Median ms per part of a full ``predict`` of one synthetic image,
    plus ``total`` and :data:`REST`. Nested calls of a part count once."""
    was_training = model.training
    model.eval()
    parts = breakdown_parts(model)
    modules = dict(model.named_modules())
    times: Dict[str, List[float]] = defaultdict(list)
    current: Dict[str, float] = defaultdict(float)
    starts: Dict[str, List[float]] = defaultdict(list)
    handles = []
    # on a GPU each part's time is its queued work's: wait for it
    sync = synchronizer(next(model.parameters()).device)
    for part in parts:

        def pre(_m, _a, part=part):
            sync()
            starts[part].append(time.perf_counter())

        def post(_m, _a, _o, part=part):
            sync()
            current[part] += time.perf_counter() - starts[part].pop()

        handles += [
            modules[part].register_forward_pre_hook(pre),
            modules[part].register_forward_hook(post)
        ]
    data = synthetic_test_batch(model, *input_shape)
    try:
        for i in range(warmup + runs):
            current.clear()
            sync()
            start = time.perf_counter()
            model(data['inputs'], data['data_samples'], mode='predict')
            sync()
            total = time.perf_counter() - start
            if i < warmup:
                continue
            for part in parts:
                times[part].append(1000 * current.get(part, 0.0))
            times[REST].append(1000 * (total - sum(current.values())))
            times['total'].append(1000 * total)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {k: round(statistics.median(v), 3) for k, v in times.items()}


def onnxruntime_latency_breakdown(model: nn.Module,
                                  onnx_path: str,
                                  runs: int = 10,
                                  warmup: int = 2,
                                  threads: int = 0,
                                  num_rois: int = 1000) -> Dict[str, float]:
    """Mean ms per part of the exported graphs (``onnx_path`` and its
    manifest) in ONNX Runtime, from its node profile; ``total`` is the sum
    of all node times (post-processing runs outside ONNX Runtime)."""
    import os.path as osp
    import tempfile

    import numpy as np

    from mmprune.deployment.onnx_export import ort_session, read_manifest
    manifest = read_manifest(onnx_path)
    tmp = tempfile.mkdtemp()
    folder = osp.dirname(osp.abspath(onnx_path))
    parts = breakdown_parts(model)
    totals: Dict[str, float] = defaultdict(float)
    rng = np.random.default_rng(0)
    for g in manifest['graphs']:
        session = ort_session(
            osp.join(folder, g['file']),
            threads or torch.get_num_threads(),
            onnxruntime_providers(model),
            profile_prefix=osp.join(tmp, 'profile'))
        feed = random_feed(session, manifest, g, num_rois, rng)
        for _ in range(warmup + runs):
            session.run(None, feed)
        profile = session.end_profiling()
        with open(profile) as f:
            events = json.load(f)
        os.remove(profile)
        # the warm-up runs are profiled too: count the nodes that ran
        # after the first timed run began
        run_starts = sorted(
            e['ts'] for e in events
            if e.get('cat') == 'Session' and e.get('name') == 'model_run')
        since = run_starts[warmup] if len(run_starts) > warmup else 0
        aliases = {'head': g['replaces']}
        for e in events:
            if e.get('cat') != 'Node' or e['ts'] < since or \
                    not e['name'].endswith('_kernel_time'):
                continue
            node = e['name'][:-len('_kernel_time')]
            totals[_part_of(node, parts, aliases)] += e['dur'] / 1000
    os.rmdir(tmp)
    out = {k: round(v / runs, 3) for k, v in totals.items()}
    out['total'] = round(sum(totals.values()) / runs, 3)
    return out


def breakdown_table(before: Dict[str, float],
                    after: Optional[Dict[str, float]] = None,
                    flops_before: Optional[Dict[str, int]] = None,
                    flops_after: Optional[Dict[str, int]] = None) -> List[str]:
    """Markdown rows: part, ms (share of the total), and with ``after``
    the speed-up beside the part's FLOPs reduction."""
    keys = [k for k in before if k != 'total']
    keys += [k for k in (after or {}) if k not in keys and k != 'total']
    keys.append('total')
    head = '| part | ms before | share |'
    if after is not None:
        head += ' ms after | speed-up | FLOPs reduction |'
    rows = [head, '|' + ' --- |' * (head.count('|') - 1)]
    for k in keys:
        b = before.get(k, 0.0)
        row = (f'| {k} | {b:.2f} | '
               f'{100 * b / max(before["total"], 1e-9):.0f}% |')
        if after is not None:
            a = after.get(k, 0.0)
            su = f'{b / a:.2f}x' if a > 0 else '-'
            fk = '' if k == 'total' else k
            fr = '-'
            if flops_before and flops_after and k != REST and \
                    flops_after.get(fk):
                fr = f'{flops_before.get(fk, 0) / flops_after[fk]:.2f}x'
            row += f' {a:.2f} | {su} | {fr} |'
        rows.append(row)
    return rows


def end2end_latency_split(onnx_path: str,
                          image,
                          runs: int = 20,
                          warmup: int = 3,
                          threads: int = 0) -> Dict[str, float]:
    """Mean ms per run of an end-to-end graph's network and of the steps
    around it (normalization, decoding, NMS, RoI Align: the node-name
    scopes its manifest lists), from ONNX Runtime's node profile."""
    import os.path as osp
    import tempfile

    from mmprune.deployment.onnx_export import ort_session, read_manifest
    post = read_manifest(onnx_path).get('post_processing_scopes', [])
    totals: Dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        session = ort_session(
            onnx_path,
            threads or torch.get_num_threads(),
            profile_prefix=osp.join(tmp, 'profile'))
        for _ in range(warmup + runs):
            session.run(None, {'image': image})
        with open(session.end_profiling()) as f:
            events = json.load(f)
    run_starts = sorted(
        e['ts'] for e in events
        if e.get('cat') == 'Session' and e.get('name') == 'model_run')
    since = run_starts[warmup] if len(run_starts) > warmup else 0
    for e in events:
        if e.get('cat') != 'Node' or e['ts'] < since or \
                not e['name'].endswith('_kernel_time'):
            continue
        parts = e['name'].split('/')
        outside = len(parts) < 3 or '/' + parts[1] in post
        totals['post_processing' if outside else 'network'] += e['dur'] / 1000
    out = {k: round(v / runs, 3) for k, v in totals.items()}
    out['total'] = round(sum(totals.values()) / runs, 3)
    return out
