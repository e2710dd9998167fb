r"""Write a sparse checkpoint in mmprune's compressed form: a bit mask plus
the non-zero values per tensor, so the file shrinks with sparsity. Prints
the bytes before and after and checks that it decodes to the same dense
weights, bit for bit. The result loads wherever mmprune is imported
(``tools/test.py CONFIG OUT``, ``load_from``, ``init_cfg``).

    python tools/model_converters/compress_sparse_checkpoint.py \
        work_dirs/X/iter_1000.pth work_dirs/X/iter_1000_sparse.pth
"""
import argparse
import io
import json
import os.path as osp

import torch

import mmprune  # noqa: F401  (allow-lists mmengine checkpoint types)
from mmprune.core.checkpoint_reader import (check_checkpoint_path,
                                            read_checkpoint)
from mmprune.core.sparsity import (compress_checkpoint, decompress_checkpoint,
                                   tensor_identity)
from mmprune.utils import dump_json_atomic, save_checkpoint_atomic
from mmprune.utils.cli import tool_parser
from mmprune.utils.outputs import prepare_output_file


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('checkpoint', help='a (sparse) mmengine checkpoint')
    parser.add_argument('out', help='the compressed checkpoint to write')
    parser.add_argument('--json', help='also write the sizes as JSON')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing OUT (and --json) file')
    return parser.parse_args()


def serialized_size(obj: dict) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def check_round_trip(dense: dict, back: dict) -> None:
    for k, v in dense.items():
        w = back[k]
        same = w.dtype == v.dtype and w.shape == v.shape and (torch.equal(
            w.view(torch.uint8),
            v.contiguous().view(
                torch.uint8)) if v.is_floating_point() else torch.equal(w, v))
        if not same:
            raise SystemExit(f'compressed round trip differs at {k}')


def main() -> None:
    args = parse_args()
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise SystemExit('refusing to overwrite the source checkpoint: give '
                         'another output path')
    check_checkpoint_path(args.checkpoint)
    prepare_output_file(args.out, 'OUT', args.overwrite)
    if args.json:
        prepare_output_file(args.json, '--json', args.overwrite)
    source = read_checkpoint(args.checkpoint)
    if 'state_dict' not in source:
        raise SystemExit(f'"{args.checkpoint}" has no state_dict (is it '
                         'already compressed?)')
    dense = dict(meta=source.get('meta', {}), state_dict=source['state_dict'])
    compressed = compress_checkpoint(source)
    check_round_trip(dense['state_dict'],
                     decompress_checkpoint(compressed)['state_dict'])
    save_checkpoint_atomic(compressed, args.out)
    # and once more from the file, as a user will load it
    check_round_trip(
        dense['state_dict'],
        decompress_checkpoint(
            torch.load(args.out, map_location='cpu',
                       weights_only=True))['state_dict'])
    # count a tensor shared by several keys once, as it is stored
    unique = {
        tensor_identity(v): v
        for v in dense['state_dict'].values()
    }.values()
    n = sum(v.numel() for v in unique)
    nz = sum(int(v.count_nonzero()) for v in unique)
    sizes = dict(
        source_file_bytes=osp.getsize(args.checkpoint),
        dense_weights_bytes=serialized_size(dense),
        compressed_file_bytes=osp.getsize(args.out),
        params=n,
        nonzero_params=nz,
        sparsity=round(1 - nz / max(n, 1), 6))
    sizes['compressed_vs_dense_weights'] = round(
        sizes['compressed_file_bytes'] / sizes['dense_weights_bytes'], 4)
    print(json.dumps(sizes, indent=2))
    print(f'wrote {args.out}: round trip exact')
    if args.json:
        dump_json_atomic(sizes, args.json)


if __name__ == '__main__':
    main()
