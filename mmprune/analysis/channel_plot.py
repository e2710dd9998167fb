"""A PNG of every layer's output channels before and after pruning."""
from typing import List

from mmprune.utils.atomic_io import atomic_write


def plot_layer_channels(layers: List[dict],
                        path: str,
                        title: str = '') -> None:
    """``layers``: dicts with ``name``, ``out_before`` and ``out_after``,
    in model order. Written atomically."""
    import matplotlib
    matplotlib.use('Agg')  # no display on training machines
    import matplotlib.pyplot as plt

    x = list(range(len(layers)))
    fig, ax = plt.subplots(figsize=(max(8, len(layers) * 0.12), 4.5))
    ax.bar(
        x, [r['out_before'] for r in layers],
        width=1.0,
        color='#c8c8c8',
        label='before')
    ax.bar(
        x, [r['out_after'] for r in layers],
        width=1.0,
        color='#1f77b4',
        label='after')
    ax.set_xlabel('layer (model order)')
    ax.set_ylabel('output channels')
    ax.set_xlim(-0.5, len(layers) - 0.5)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, format='png', dpi=100)

    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)
