"""Per-module sparsity statistics: asked versus reached."""
from collections import OrderedDict
from typing import Dict, List, Optional

import torch.nn as nn

from .plan import SparsityPlan


def sparsity_statistics(model: nn.Module,
                        plan: SparsityPlan,
                        fraction: float = 1.0) -> Dict:
    """Rows per weight (total, non-zero, asked ratio at ``fraction`` of
    the schedule, reached ratio), per rule, and overall figures (over the
    targeted weights and over every parameter)."""
    params = dict(model.named_parameters())
    rows: List[dict] = []
    rules: Dict[str, dict] = OrderedDict()
    for t in plan.targets + plan.protected:
        p = params[t.name]
        nonzero = int(p.count_nonzero())
        asked = t.ratio if t.semi_structured else t.ratio * fraction
        rows.append(
            dict(
                param=t.name,
                module=t.module,
                type=t.module_type,
                rule=t.rule,
                total=t.numel,
                nonzero=nonzero,
                asked=round(asked, 6),
                reached=round(1 - nonzero / max(t.numel, 1), 6)))
        r = rules.setdefault(
            t.rule,
            dict(rule=t.rule, weights=0, total=0, nonzero=0, asked=0.0))
        r['weights'] += 1
        r['total'] += t.numel
        r['nonzero'] += nonzero
        r['asked'] = round(asked, 6)
    for r in rules.values():
        r['reached'] = round(1 - r['nonzero'] / max(r['total'], 1), 6)
    all_total = sum(p.numel() for p in params.values())
    all_nonzero = sum(int(p.count_nonzero()) for p in params.values())
    tgt_total = sum(t.numel for t in plan.targets)
    tgt_nonzero = sum(r['nonzero'] for r in rows[:len(plan.targets)])
    return dict(
        overall=dict(
            params=all_total,
            nonzero_params=all_nonzero,
            sparsity=round(1 - all_nonzero / max(all_total, 1), 6),
            targeted_params=tgt_total,
            targeted_nonzero=tgt_nonzero,
            targeted_sparsity=round(1 - tgt_nonzero / max(tgt_total, 1), 6)),
        rules=list(rules.values()),
        modules=rows,
        skipped=[dict(param=k, reason=v) for k, v in plan.skipped.items()])


def summary_lines(stats: Dict, latency: Optional[Dict] = None) -> List[str]:
    o = stats['overall']
    lines = [
        f'sparsity: {o["targeted_sparsity"]:.2%} of the '
        f'{o["targeted_params"]:,} targeted weights, '
        f'{o["sparsity"]:.2%} of all {o["params"]:,} parameters'
    ]
    lines.append(f'{"rule":<40} {"weights":>7} {"params":>11} '
                 f'{"asked":>7} {"reached":>7}')
    for r in stats['rules']:
        lines.append(f'{r["rule"][:40]:<40} {r["weights"]:>7} '
                     f'{r["total"]:>11,} {r["asked"]:>7.2%} '
                     f'{r["reached"]:>7.2%}')
    for s in stats['skipped']:
        lines.append(f'2:4 skipped for {s["param"]}: {s["reason"]}')
    if latency:
        lines.append('dense latency (ms, median): ' +
                     ', '.join(f'{k} {v}' for k, v in latency.items()))
    return lines
