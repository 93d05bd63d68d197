"""The warm-up bookkeeping every incremental indicator reports, defined once.

Only plain slot reads live here: ``update`` and ``push`` stay in each indicator, so the
per-tick path gains no call.
"""

from __future__ import annotations


class Indicator:
    """How far an indicator is through its warm-up: ``count``, ``warmup`` and ``ready``.

    A subclass sets ``_warmup`` once and ``_count`` in ``reset``; ``ready`` is
    ``count >= warmup`` unless the subclass says otherwise.
    """

    __slots__ = ("_count", "_warmup")

    _count: int
    _warmup: int

    @property
    def warmup(self) -> int:
        """Updates needed before the first value."""
        return self._warmup

    @property
    def count(self) -> int:
        """Updates seen since construction or the last ``reset``."""
        return self._count

    @property
    def ready(self) -> bool:
        """True once ``warmup`` updates have been seen."""
        return self._count >= self._warmup


class PeriodIndicator(Indicator):
    """An indicator over the last ``period`` values, or smoothed with that length."""

    __slots__ = ("_period",)

    _period: int

    @property
    def period(self) -> int:
        """The window or smoothing length the indicator was built with."""
        return self._period


class SmoothedIndicator(PeriodIndicator):
    """A period indicator carried forward by a recursion (EMA, Wilder's RSI and ATR): its one
    output is kept in ``_value`` between updates, NaN until ready."""

    __slots__ = ("_value",)

    _value: float

    @property
    def value(self) -> float:
        """The current value, NaN while not ready."""
        return self._value
