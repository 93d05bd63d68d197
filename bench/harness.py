"""Tiny benchmark harness: best-of-N timing of a loop, results as rows of (name, value, unit)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Result:
    suite: str
    name: str
    value: float
    unit: str
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def ns_per_call(loop: Callable[[int], object], n: int, *, repeat: int = 5) -> float:
    """Best of ``repeat`` runs of ``loop(n)`` (which performs n operations), in ns per operation.

    The best run is the least disturbed by the other core's load; GC is paused while timing.
    """
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            loop(n)
            best = min(best, (time.perf_counter_ns() - start) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best
