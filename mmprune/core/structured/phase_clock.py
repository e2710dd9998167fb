"""Where the time of a prune goes: seconds per named phase, each second
counted once (a phase inside another counts for itself alone)."""
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional

#: the phases of a prune, in the order they run (``scan`` and ``fit``:
#: a sensitivity allocation's trials and tries before its prune)
PHASES = ('scan', 'fit', 'layers', 'tracing', 'graph', 'importance', 'pruning',
          'measures', 'check')


class PhaseClock:
    """``with clock.phase('graph'): ...`` adds the time spent inside to
    ``clock.seconds['graph']``, less what nested phases took."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = {}
        self._stack: List[str] = []
        self._mark = time.perf_counter()

    def _charge(self) -> None:
        now = time.perf_counter()
        if self._stack:
            name = self._stack[-1]
            self.seconds[name] = self.seconds.get(name, 0.0) + \
                now - self._mark
        self._mark = now

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._charge()
        self._stack.append(name)
        try:
            yield
        finally:
            self._charge()
            self._stack.pop()

    def timed(self, name: str, fn: Optional[Callable]) -> Optional[Callable]:
        """``fn`` with every call counted in phase ``name``."""
        if fn is None:
            return None

        def call(*args, **kwargs):
            with self.phase(name):
                return fn(*args, **kwargs)

        return call

    def rounded(self) -> Dict[str, float]:
        """The phases that took time, in :data:`PHASES` order."""
        order = {p: i for i, p in enumerate(PHASES)}
        return {
            name: round(s, 3)
            for name, s in sorted(
                self.seconds.items(), key=lambda kv: order.get(kv[0], 99))
        }
