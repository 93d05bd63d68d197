"""Time bars from trades, by event time, so a bar-trained model can run on a trade feed.

A bar covers ``[start, start + interval)`` of event time (aligned to multiples of the
interval). It closes when the first trade at or after its end arrives, never on a timer: the
same trades give the same bars live and in a backtest. A bar with no trade is never made (a
quiet minute is skipped, as exchanges' klines of an idle market are).
"""

from __future__ import annotations

from decimal import Decimal

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick

ZERO = Decimal(0)


class BarBuilder:
    """One instrument's bars of ``interval_ns``; ``on_trade`` returns the bar a trade closed."""

    __slots__ = ("_close", "_end", "_high", "_instrument", "_interval", "_low", "_open", "_start", "_volume")

    def __init__(self, instrument_id: InstrumentId, interval_ns: int) -> None:
        if isinstance(interval_ns, bool) or not isinstance(interval_ns, int) or interval_ns <= 0:
            raise InvalidParameter("bar_seconds", interval_ns, "must be a positive whole number of seconds")
        self._instrument = instrument_id
        self._interval = interval_ns
        self.reset()

    def reset(self) -> None:
        self._start = -1  # no bar open
        self._end = 0
        self._open = self._high = self._low = self._close = self._volume = ZERO

    def on_trade(self, tick: TradeTick) -> Bar | None:
        """Fold ``tick`` in; the previous bar when ``tick`` is past its end, else None.

        A trade older than the open bar (out of order) is folded into the open bar: bars only
        move forward.
        """
        price, size, ts = tick.price, tick.size, tick.ts_event
        closed = None
        if self._start < 0 or ts >= self._end:
            if self._start >= 0:
                closed = Bar(
                    self._instrument,
                    self._open,
                    self._high,
                    self._low,
                    self._close,
                    self._volume,
                    self._interval,
                    self._end,
                    ts,
                )
            self._start = ts - ts % self._interval
            self._end = self._start + self._interval
            self._open = self._high = self._low = self._close = price
            self._volume = size
            return closed
        if price > self._high:
            self._high = price
        elif price < self._low:
            self._low = price
        self._close = price
        self._volume += size
        return None
