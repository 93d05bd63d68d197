"""The market behind the report's interactive chart: price range, volume and the strategy's indicators.

The replay keeps only a sampled price (every hour and at each fill), far too coarse for a
moving average of minutes. So the history is read once more: every driving price goes through
the strategy's own indicators (``domain.indicators``, built from its parsed parameters and fed
the price the strategy is fed), and the run is cut into at most ``POINTS`` time buckets, each
with its first, highest, lowest and last price, its summed volume and every indicator's value
at its last event. A page of a few thousand points stays light and quick to zoom, whatever the
length of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from application.backtest import BacktestResult
from domain.errors import InvalidParameter
from domain.indicators import RSI, SMA, BollingerBands
from domain.market_data import Bar, MarketEvent, QuoteTick, TradeTick
from domain.strategies import create_strategy
from domain.strategies.base import PriceSource
from domain.strategies.bollinger_breakout import BollingerBreakout
from domain.strategies.rsi_mean_reversion import RsiMeanReversion
from domain.strategies.sma_crossover import SmaCrossover
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.gc_tuning import collector_aside

POINTS = 5_000
"""Most buckets the chart gets; a shorter run keeps one bucket per event time."""

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class IndicatorLine:
    """One indicator output, one value per bucket (NaN while it warms up).

    ``overlay``: drawn over the price (moving averages, bands); otherwise in a panel of its own
    (an oscillator such as the RSI), with ``levels`` as its reference lines.
    """

    name: str
    values: FloatArray
    overlay: bool = True
    levels: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class MarketSeries:
    """The run's market in time buckets: ``times`` is each bucket's last event time (ns)."""

    times: IntArray
    opens: FloatArray
    highs: FloatArray
    lows: FloatArray
    closes: FloatArray
    volumes: FloatArray
    indicators: tuple[IndicatorLine, ...]
    events: int
    """How many market events the buckets hold."""
    bucket_ns: int
    """Width of one bucket in nanoseconds."""


@dataclass(slots=True)
class _Tracked:
    """An indicator being fed, and how to read each of its outputs."""

    feed: Callable[[float], None]
    outputs: tuple[tuple[str, Callable[[], float]], ...]
    overlay: bool = True
    levels: tuple[float, ...] = ()


def strategy_indicators(
    strategy: str, params: Mapping[str, str]
) -> tuple[PriceSource, list[_Tracked]] | None:
    """The indicators ``strategy`` computes with ``params`` (fresh), and the price source it reads.

    None for a strategy or parameters the registry refuses, or a strategy without indicators
    to show; the chart then has the price, the trades and the volume only.
    """
    try:
        built = create_strategy(
            strategy, strategy_id="report", instrument_ids=["REPORT.REPORT"], params=params
        )
    except InvalidParameter:
        return None
    if isinstance(built, SmaCrossover):
        crossover = built.params
        fast, slow = SMA(crossover.fast), SMA(crossover.slow)
        return crossover.source, [
            _Tracked(fast.update, ((f"SMA({crossover.fast})", lambda: fast.value),)),
            _Tracked(slow.update, ((f"SMA({crossover.slow})", lambda: slow.value),)),
        ]
    if isinstance(built, BollingerBreakout):
        band = built.params
        bands = BollingerBands(band.period, band.num_std)
        label = f"({band.period}, {band.num_std:g}σ)"
        outputs = (
            (f"Upper band {label}", lambda: bands.upper),
            (f"Middle band SMA({band.period})", lambda: bands.middle),
            (f"Lower band {label}", lambda: bands.lower),
        )
        return band.source, [_Tracked(bands.update, outputs)]
    if isinstance(built, RsiMeanReversion):
        reversion = built.params
        rsi = RSI(reversion.period)
        tracked = _Tracked(
            rsi.update,
            ((f"RSI({reversion.period})", lambda: rsi.value),),
            overlay=False,
            levels=(reversion.oversold, reversion.overbought),
        )
        return reversion.source, [tracked]
    return None


_Reading: TypeAlias = tuple[float, float, float, float, float, bool]
"""(first, high, low, last, volume, drives the strategy) of one event."""


def _reading(event: MarketEvent, source: PriceSource | None) -> _Reading | None:
    """What one event adds to its bucket; None for events of other kinds (books, statuses)."""
    if isinstance(event, Bar):
        last = float(event.close)
        return (
            float(event.open),
            float(event.high),
            float(event.low),
            last,
            float(event.volume),
            source is PriceSource.BAR,
        )
    if isinstance(event, TradeTick):
        price = float(event.price)
        return price, price, price, price, float(event.size), source is PriceSource.TRADE
    if isinstance(event, QuoteTick):
        mid = float((event.bid_price + event.ask_price) / 2)
        return mid, mid, mid, mid, 0.0, source is PriceSource.MID
    return None


class _Buckets:
    """The buckets closed so far, in time order; each indicator output read as a bucket closes."""

    def __init__(self, readers: list[Callable[[], float]]) -> None:
        self.readers = readers
        self.times: list[int] = []
        self.opens: list[float] = []
        self.highs: list[float] = []
        self.lows: list[float] = []
        self.closes: list[float] = []
        self.volumes: list[float] = []
        self.readings: list[list[float]] = [[] for _ in readers]

    def close(self, ts: int, *, first: float, high: float, low: float, last: float, volume: float) -> None:
        """A bucket is complete: its last event time, prices and volume, and the indicators now."""
        self.times.append(ts)
        self.opens.append(first)
        self.highs.append(high)
        self.lows.append(low)
        self.closes.append(last)
        self.volumes.append(volume)
        for values, read in zip(self.readings, self.readers, strict=True):
            values.append(read())


def market_series(
    events: Iterable[MarketEvent],
    *,
    strategy: str,
    params: Mapping[str, str],
    start_ns: int,
    end_ns: int,
    points: int = POINTS,
) -> MarketSeries:
    """Bucket the time-ordered ``events`` between ``start_ns`` and ``end_ns`` (inclusive).

    Bars give their open, high, low, close and volume; trades their price and size; quotes their
    mid price and no volume. Only events of the strategy's price source feed its indicators,
    as in the strategy itself.

    The loop runs once per event of the history (millions), so the bucket being filled lives in
    local variables and a trade is read in place; a bucket is written out when the next opens
    (its indicators read then, before that event feeds them) and at the end.
    """
    if points < 1:
        raise ValueError(f"points must be at least 1, was {points}")
    if end_ns < start_ns:
        raise ValueError(f"end_ns {end_ns} is before start_ns {start_ns}")
    width = max(1, -(-(end_ns - start_ns + 1) // points))
    wiring = strategy_indicators(strategy, params)
    source, tracked = wiring if wiring is not None else (None, [])
    buckets = _Buckets([reader for item in tracked for _, reader in item.outputs])
    feeds = [item.feed for item in tracked]
    trades_drive = source is PriceSource.TRADE
    last_bucket = points - 1
    current = -1
    count = 0
    ts_last = 0
    first = high = low = last = volume = 0.0
    for event in events:
        if type(event) is TradeTick:
            price = float(event.price)
            size = float(event.size)
            top = bottom = close = price
            drives = trades_drive
        else:
            reading = _reading(event, source)
            if reading is None:
                continue
            price, top, bottom, close, size, drives = reading
        count += 1
        ts = event.ts_event
        bucket = min(max(ts - start_ns, 0) // width, last_bucket)
        if bucket != current:
            if current >= 0:
                buckets.close(ts_last, first=first, high=high, low=low, last=last, volume=volume)
            current = bucket
            first, high, low, volume = price, top, bottom, size
        else:
            high = max(high, top)
            low = min(low, bottom)
            volume += size
        ts_last = ts
        last = close
        if drives:  # the strategy reads this event's last price
            for feed in feeds:
                feed(close)
    if count:
        buckets.close(ts_last, first=first, high=high, low=low, last=last, volume=volume)
    names = [(name, item) for item in tracked for name, _ in item.outputs]
    lines = tuple(
        IndicatorLine(name, np.array(values, dtype=np.float64), overlay=item.overlay, levels=item.levels)
        for (name, item), values in zip(names, buckets.readings, strict=True)
    )
    return MarketSeries(
        times=np.array(buckets.times, dtype=np.int64),
        opens=np.array(buckets.opens, dtype=np.float64),
        highs=np.array(buckets.highs, dtype=np.float64),
        lows=np.array(buckets.lows, dtype=np.float64),
        closes=np.array(buckets.closes, dtype=np.float64),
        volumes=np.array(buckets.volumes, dtype=np.float64),
        indicators=lines,
        events=count,
        bucket_ns=width,
    )


class FinishedRun(Protocol):
    """What ``market_for`` needs of a finished run (a ``BacktestOutcome``)."""

    spec: BacktestSpec
    result: BacktestResult


def market_for(outcome: FinishedRun) -> MarketSeries | None:
    """The market of a finished run, read again from its files or its store; None when it had no
    events. Raises BacktestError when the history cannot be read again."""
    from adapters.historical import HistoricalDataError, ReadStats
    from entrypoints.backtest.history import open_events

    result = outcome.result
    if result.first_ts is None or result.last_ts is None:
        return None
    stats: list[ReadStats] = []
    closers: list[Callable[[], None]] = []
    try:
        _, events = open_events(outcome.spec, stats, closers)
        with collector_aside():  # the history read again allocates as much as the replay did
            return market_series(
                events,
                strategy=outcome.spec.strategy,
                params=outcome.spec.params,
                start_ns=result.first_ts,
                end_ns=result.last_ts,
            )
    except (HistoricalDataError, OSError) as error:
        raise BacktestError(f"report: reading the market data again failed: {error}", field="data") from None
    finally:
        for close in closers:
            close()
