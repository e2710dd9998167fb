"""The pruned structure a checkpoint carries (key ``pruning``), as plain
data: Torch-Pruning's history to replay on a freshly built model, the
prune points done, and the report's unpruned baseline. One record shared
by ``StructuredPruningHook`` and ``tools/prune.py``."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .pruning_history import check_history

CHECKPOINT_KEY = 'pruning'


@dataclass
class PrunedStructure:
    # Torch-Pruning's history as plain data (see pruning_history)
    history: list = field(default_factory=list)
    # the prune points (training iterations) already done
    done: List[int] = field(default_factory=list)
    method: Optional[str] = None
    # the report so far: a resumed run measures what is left of its target
    # against the unpruned model
    report: Optional[dict] = None
    # per-layer (in, out) channels of the unpruned model
    widths: Optional[Dict[str, tuple]] = None

    def to_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = dict(
            history=self.history,
            done=sorted(self.done),
            method=self.method,
            report=self.report,
            widths=None if self.widths is None else {
                n: list(w)
                for n, w in self.widths.items()
            })

    @classmethod
    def from_checkpoint(
            cls,
            checkpoint: dict,
            where: str = 'checkpoint') -> Optional['PrunedStructure']:
        """The record in ``checkpoint``, checked; None when it has none."""
        record = checkpoint.get(CHECKPOINT_KEY)
        if not record:
            return None
        history = check_history(
            record.get('history', []), f'{where}: key "{CHECKPOINT_KEY}"')
        widths = record.get('widths')
        return cls(
            history=history,
            done=sorted(int(i) for i in record.get('done', [])),
            method=record.get('method'),
            report=record.get('report'),
            widths=None if not widths else {
                n: tuple(w)
                for n, w in widths.items()
            })


def has_pruned_structure(checkpoint: dict) -> bool:
    return bool(
        isinstance(checkpoint, dict) and checkpoint.get(CHECKPOINT_KEY))
