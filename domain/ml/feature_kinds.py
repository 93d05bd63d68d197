"""The feature kinds: each one's parameters, warm-up and both computations, side by side.

A kind computes one column twice: vectorized over a whole history (``column``, with the
indicators' numpy twins) and incrementally bar by bar (``stream``, with the indicator
classes), so a model trained on history sees the numbers it will see live.

Every value is dimensionless (a ratio to the close, a fraction), so one model can serve
instruments quoted at any price.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from domain.errors import InvalidParameter
from domain.indicators import atr, rsi
from domain.indicators._common import FloatArray, nan_array
from domain.ml.feature_inputs import Columns, Param, Params, Stream, Wiring

_FLAT = 1e-12
"""A Bollinger band narrower than this fraction of its middle is flat: the window's prices
are equal up to rounding, and ``%b`` is then 0.5 (the close sits on the middle)."""


class Kind:
    """A feature kind: its name, its parameters (with defaults), and how it is computed."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def check(self, params: Params, field: str) -> None:
        """Cross-parameter checks beyond each parameter's own range (none by default)."""

    def warmup(self, params: Params) -> int:
        """Bars needed before the first value (the first value is at row ``warmup - 1``)."""
        raise NotImplementedError

    def column(self, params: Params, data: Columns) -> FloatArray:
        """The whole column at once, NaN for the first ``warmup - 1`` rows."""
        raise NotImplementedError

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        """The incremental twin, wired to the indicators it reads."""
        raise NotImplementedError


def _int(params: Params, name: str) -> int:
    return int(params[name])


class Return(Kind):
    """``close[i] / close[i - horizon] - 1``: the return over the last ``horizon`` bars."""

    name = "return"
    params = (Param("horizon", 1),)

    def warmup(self, params: Params) -> int:
        return _int(params, "horizon") + 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        h = _int(params, "horizon")
        out = nan_array(data.close.shape[0])
        out[h:] = data.close[h:] / data.close[:-h] - 1.0
        return out

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        lag = wiring.lag(_int(params, "horizon"))
        return lambda close, _volume: close / lag.value - 1.0


class SmaRatio(Kind):
    """``close / SMA(close, period) - 1``: how far the close stands from its simple average."""

    name = "sma_ratio"
    params = (Param("period", 20),)

    def warmup(self, params: Params) -> int:
        return _int(params, "period")

    def column(self, params: Params, data: Columns) -> FloatArray:
        return data.close / data.sma(_int(params, "period")) - 1.0

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        average = wiring.sma(_int(params, "period"))
        return lambda close, _volume: close / average.value - 1.0


class EmaRatio(Kind):
    """``close / EMA(close, period) - 1``: how far the close stands from its exponential average."""

    name = "ema_ratio"
    params = (Param("period", 20),)

    def warmup(self, params: Params) -> int:
        return _int(params, "period")

    def column(self, params: Params, data: Columns) -> FloatArray:
        return data.close / data.ema(_int(params, "period")) - 1.0

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        average = wiring.ema(_int(params, "period"))
        return lambda close, _volume: close / average.value - 1.0


class Rsi(Kind):
    """``RSI(close, period) / 100``: Wilder's relative strength, scaled to [0, 1]."""

    name = "rsi"
    params = (Param("period", 14, minimum=2),)

    def warmup(self, params: Params) -> int:
        return _int(params, "period") + 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        return rsi(data.close, _int(params, "period")) / 100.0

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        indicator = wiring.rsi(_int(params, "period"))
        return lambda _close, _volume: indicator.value / 100.0


def _macd_params(params: Params) -> tuple[int, int, int]:
    return _int(params, "fast"), _int(params, "slow"), _int(params, "signal")


class Macd(Kind):
    """``MACD line / close``: fast EMA minus slow EMA, relative to the price."""

    name = "macd"
    params = (Param("fast", 12, minimum=2), Param("slow", 26, minimum=2), Param("signal", 9))

    def check(self, params: Params, field: str) -> None:
        if params["fast"] >= params["slow"]:
            raise InvalidParameter(
                f"{field}.fast", params["fast"], f"must be less than slow ({params['slow']})"
            )

    def warmup(self, params: Params) -> int:
        _fast, slow, signal = _macd_params(params)
        return slow + signal - 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        return data.macd(*_macd_params(params))[0] / data.close

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        indicator = wiring.macd(*_macd_params(params))
        return lambda close, _volume: indicator.macd / close


class MacdHist(Macd):
    """``MACD histogram / close``: the MACD line minus its signal EMA, relative to the price."""

    name = "macd_hist"

    def column(self, params: Params, data: Columns) -> FloatArray:
        return data.macd(*_macd_params(params))[2] / data.close

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        indicator = wiring.macd(*_macd_params(params))
        return lambda close, _volume: indicator.histogram / close


def _percent_b(close: float, upper: float, middle: float, lower: float) -> float:
    width = upper - lower
    if width <= _FLAT * abs(middle):
        return 0.5
    return (close - lower) / width


class BbPercentB(Kind):
    """``(close - lower) / (upper - lower)`` of Bollinger(period, k): 0 on the lower band, 1 on
    the upper; 0.5 when the band is flat (narrower than 1e-12 of its middle)."""

    name = "bb_percent_b"
    params = (Param("period", 20, minimum=2), Param("k", 2.0, real=True))

    def warmup(self, params: Params) -> int:
        return _int(params, "period")

    def column(self, params: Params, data: Columns) -> FloatArray:
        upper, middle, lower = data.bollinger(_int(params, "period"), float(params["k"]))
        width = upper - lower
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (data.close - lower) / width
        flat = width <= _FLAT * np.abs(middle)
        out[flat] = 0.5
        return out

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        bands = wiring.bollinger(_int(params, "period"), float(params["k"]))
        return lambda close, _volume: _percent_b(close, bands.upper, bands.middle, bands.lower)


class BbWidth(Kind):
    """``(upper - lower) / middle`` of Bollinger(period, k): the band's width relative to the price."""

    name = "bb_width"
    params = BbPercentB.params

    def warmup(self, params: Params) -> int:
        return _int(params, "period")

    def column(self, params: Params, data: Columns) -> FloatArray:
        upper, middle, lower = data.bollinger(_int(params, "period"), float(params["k"]))
        return (upper - lower) / middle

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        bands = wiring.bollinger(_int(params, "period"), float(params["k"]))
        return lambda _close, _volume: (bands.upper - bands.lower) / bands.middle


class AtrRatio(Kind):
    """``ATR(period) / close``: Wilder's average true range relative to the price."""

    name = "atr_ratio"
    params = (Param("period", 14),)

    def warmup(self, params: Params) -> int:
        return _int(params, "period") + 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        return atr(data.high, data.low, data.close, _int(params, "period")) / data.close

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        indicator = wiring.atr(_int(params, "period"))
        return lambda close, _volume: indicator.value / close


class LogVolume(Kind):
    """``log1p(volume)``: the bar's volume on a log scale (0 for no volume)."""

    name = "log_volume"

    def warmup(self, params: Params) -> int:
        return 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        return np.log1p(data.volume)

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        return lambda _close, volume: math.log1p(volume)


class VolumeRatio(Kind):
    """``volume / SMA(volume, period)``: the bar's volume against its recent average; 0.0 for a
    bar with no volume (which also covers a window with no volume at all, 0 / 0)."""

    name = "volume_ratio"
    params = (Param("period", 20),)

    def warmup(self, params: Params) -> int:
        return _int(params, "period")

    def column(self, params: Params, data: Columns) -> FloatArray:
        average = data.volume_sma(_int(params, "period"))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = data.volume / average
        out[(data.volume == 0.0) & ~np.isnan(average)] = 0.0
        return out

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        average = wiring.volume_sma(_int(params, "period"))
        return lambda _close, volume: volume / average.value if volume != 0.0 else 0.0


def _imbalance(first: float, second: float) -> float:
    total = first + second
    return (first - second) / total if total != 0.0 else 0.0


def _imbalance_column(first: FloatArray, second: FloatArray) -> FloatArray:
    total = first + second
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (first - second) / total
    out[total == 0.0] = 0.0
    return out


class TradeFlowImbalance(Kind):
    """``(buy - sell) / (buy + sell)`` of the bar's taker volume: +1 when only buyers took
    liquidity, -1 when only sellers did; 0.0 when no trade said its aggressor.

    Incrementally, ``buy``/``sell`` are the sizes of the trades fed since the previous bar
    whose aggressor was BUYER/SELLER (trades without one are left out); vectorized, the
    history's ``buy_volume``/``sell_volume``, which it must carry.
    """

    name = "trade_flow_imbalance"

    def warmup(self, params: Params) -> int:
        return 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        if data.flow is None:
            raise InvalidParameter(
                "bars.buy_volume", None, "is needed by trade_flow_imbalance: the history lacks it"
            )
        return _imbalance_column(*data.flow)

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        flow = wiring.flow
        return lambda _close, _volume: _imbalance(flow.buy, flow.sell)


class BookImbalance(Kind):
    """``(bid_size - ask_size) / (bid_size + ask_size)`` of the latest quote at the bar's close:
    +1 when only bids are shown; 0.0 before the first quote and when both sizes are 0.

    Incrementally from the last quote fed (kept across bars); vectorized, the history's
    ``bid_size``/``ask_size``, which it must carry (0 and 0 for "no quote yet").
    """

    name = "book_imbalance"

    def warmup(self, params: Params) -> int:
        return 1

    def column(self, params: Params, data: Columns) -> FloatArray:
        if data.book is None:
            raise InvalidParameter("bars.bid_size", None, "is needed by book_imbalance: the history lacks it")
        return _imbalance_column(*data.book)

    def stream(self, params: Params, wiring: Wiring) -> Stream:
        book = wiring.book
        return lambda _close, _volume: _imbalance(book.bid, book.ask)


KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Return(),
        SmaRatio(),
        EmaRatio(),
        Rsi(),
        Macd(),
        MacdHist(),
        BbPercentB(),
        BbWidth(),
        AtrRatio(),
        LogVolume(),
        VolumeRatio(),
        TradeFlowImbalance(),
        BookImbalance(),
    )
}
"""Every kind, by the name configurations use."""
