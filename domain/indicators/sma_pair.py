"""Two simple moving averages of one series (a fast and a slow window) over one shared buffer."""

from __future__ import annotations

from itertools import chain
from math import fsum

from domain.errors import InvalidParameter
from domain.indicators._common import NAN, check_period, finite_float


class SmaPair:
    """SMA(``fast``) and SMA(``slow``) of the same values, ``fast < slow``, bit for bit the
    numbers two :class:`~domain.indicators.SMA` would give, for one call per value.

    Both windows read one ring buffer of the last ``slow`` values: the value the fast window
    drops is ``fast`` places back in it. Each running sum is updated as ``SMA.push`` updates
    its own and recomputed with ``math.fsum`` at the same counts (every ``fast``, every
    ``slow`` values); ``fsum`` is correctly rounded whatever the order of its terms, so the
    recomputed sums are the same bits too. A crossover strategy pays one call per tick, not two.

    Raises InvalidParameter for a period outside [1, 100000] or ``fast >= slow``, and
    InvalidValue from ``push`` when the value is NaN, infinite or not a number.
    """

    __slots__ = ("_count", "_fast", "_fast_phase", "_fast_sum", "_index", "_ring", "_slow", "_slow_sum")

    def __init__(self, fast: int, slow: int) -> None:
        self._fast = check_period(fast, "fast")
        self._slow = check_period(slow, "slow")
        if self._fast >= self._slow:
            raise InvalidParameter("fast", fast, f"must be less than slow ({slow})")
        self._ring = [0.0] * self._slow
        self._fast_sum = 0.0
        self._slow_sum = 0.0
        self._index = 0  # where the next value goes (the slow window's oldest value)
        self._fast_phase = 0  # values since the fast sum was last recomputed
        self._count = 0

    @property
    def fast(self) -> int:
        return self._fast

    @property
    def slow(self) -> int:
        return self._slow

    @property
    def count(self) -> int:
        """Values pushed so far."""
        return self._count

    def push(self, value: float) -> tuple[float, float]:
        """Add ``value``; returns (fast average, slow average), each NaN until its window is full."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        ring = self._ring
        index = self._index
        fast, slow = self._fast, self._slow
        back = index - fast
        if back < 0:
            back += slow
        fast_sum = self._fast_sum + (value - ring[back])  # as SMA.push does: same bits
        slow_sum = self._slow_sum + (value - ring[index])
        ring[index] = value
        index += 1
        phase = self._fast_phase + 1
        if phase == fast:
            phase = 0
            start = index - fast
            fast_sum = fsum(ring[start:index] if start >= 0 else chain(ring[start:], ring[:index]))
        if index == slow:
            index = 0
            slow_sum = fsum(ring)
        self._index = index
        self._fast_phase = phase
        self._fast_sum = fast_sum
        self._slow_sum = slow_sum
        count = self._count = self._count + 1
        return (
            fast_sum / fast if count >= fast else NAN,
            slow_sum / slow if count >= slow else NAN,
        )
