"""Prune time against parameters, one point per config, from the JSON
lines that ``zoo_sweep.py --json`` and ``structured_pruning_cost.py --json``
write; a point per config (the last row seen), the slowest named.

    python tools/benchmarks/plot_pruning_cost.py ROWS.jsonl [...] --out PNG
"""
import json

from mmprune.utils import atomic_write
from mmprune.utils.cli import tool_parser


def _rows(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                params = row.get('params_before') or row.get('params')
                if params and row.get('seconds') is not None:
                    rows[row['config']] = (params / 1e6, row['seconds'])
    return rows


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('rows', nargs='+')
    parser.add_argument('--out', required=True)
    parser.add_argument('--label', type=int, default=6)
    args = parser.parse_args()
    rows = _rows(args.rows)
    import matplotlib
    matplotlib.use('Agg')  # no display on training machines
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([p for p, _ in rows.values()], [s for _, s in rows.values()],
               s=14)
    slowest = sorted(rows.items(), key=lambda kv: -kv[1][1])[:args.label]
    for config, (params, seconds) in slowest:
        name = '_'.join(config.split('/')[-1].split()[0].split('_')[:2])[:32]
        ax.annotate(
            name, (params, seconds),
            fontsize=7,
            xytext=(3, 3),
            textcoords='offset points')
    ax.axhline(15, color='grey', lw=0.8, ls='--')
    ax.set_xlabel('parameters (M)')
    ax.set_ylabel('prune_model time (s), l1 ratio 0.3, 2-core CPU')
    ax.set_title(f'{len(rows)} model-zoo configs, random init')
    fig.tight_layout()
    try:
        atomic_write(args.out,
                     lambda tmp: fig.savefig(tmp, format='png', dpi=100))
    finally:
        plt.close(fig)
    print(f'{len(rows)} configs -> {args.out}')


if __name__ == '__main__':
    main()
