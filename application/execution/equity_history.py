"""The equity curve of a running engine, for the operator's chart.

One point per ``step_ns`` of the engine's clock, holding the latest valuation within that step,
and at most ``max_points`` of them (24 hours at the default 10-second step): bounded in memory
however long the engine runs, and fed only as often as the portfolio is revalued.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

STEP_NS = 10_000_000_000
MAX_POINTS = 8_640


@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts_ns: int
    equity: Decimal


class EquityHistory:
    __slots__ = ("_points", "max_points", "step_ns")

    def __init__(self, *, step_ns: int = STEP_NS, max_points: int = MAX_POINTS) -> None:
        if step_ns <= 0 or max_points <= 0:
            raise ValueError("step_ns and max_points must be positive")
        self.step_ns = step_ns
        self.max_points = max_points
        self._points: deque[EquityPoint] = deque(maxlen=max_points)

    def record(self, ts_ns: int, equity: Decimal) -> None:
        """The valuation at ``ts_ns``: a new point in a new step, else the step's latest value.

        A time before the last point's step (a clock that went back) is taken as that step.
        """
        points = self._points
        step = ts_ns - ts_ns % self.step_ns
        if points and step <= points[-1].ts_ns - points[-1].ts_ns % self.step_ns:
            points[-1] = EquityPoint(max(ts_ns, points[-1].ts_ns), equity)
        else:
            points.append(EquityPoint(ts_ns, equity))

    def since(self, ts_ns: int | None = None) -> list[EquityPoint]:
        """The points after ``ts_ns`` (all of them when None), oldest first."""
        if ts_ns is None:
            return list(self._points)
        return [point for point in self._points if point.ts_ns > ts_ns]

    def __len__(self) -> int:
        return len(self._points)
