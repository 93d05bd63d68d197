"""Garbage-collector tuning for a long-running engine (called by the entry points, never at import)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLDS = (50_000, 50, 1000)
"""Generation-0 collections every 50k allocations instead of 700, and full collections far
rarer: with tens of thousands of live orders, fills and events a full collection takes
milliseconds, which showed up as the p99.9 of tick handling. Reference counting still frees
almost everything at once; the collector is only for cycles."""


def tune_gc() -> None:
    """Move everything built so far out of the collector's way and raise its thresholds.

    Call once the engine is wired: the long-lived graph (container, books, strategies) is
    frozen into the permanent generation and never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def collector_aside() -> Iterator[None]:
    """The garbage collector kept out of the replay's way, and restored after it.

    A replay allocates millions of short-lived objects (events, then orders and fills); at the
    default thresholds each 700 of them start a collection, which scans the interpreter's whole
    module graph again and again: about a tenth of a replay's time. So, during the replay, what
    exists already is frozen (thawed after, so none of it is kept beyond its use) and the
    thresholds are those of a live engine. A process tuned already (``tune_gc``, frozen) is
    left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
