"""What the feature kinds compute from: a history's columns with the indicator twins cached
(``Columns``), and the incremental indicators shared by a live engine's features (``Wiring``).

Both sides create each indicator once however many features read it (MACD for ``macd`` and
``macd_hist``, one Bollinger band for ``bb_percent_b`` and ``bb_width``), so adding a feature
that shares an indicator costs only its own arithmetic.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from domain.indicators import ATR, EMA, MACD, RSI, SMA, BollingerBands, bollinger, ema, macd, sma
from domain.indicators._common import FloatArray

Params = Mapping[str, int | float]
Stream = Callable[[float, float], float]
"""An incremental feature: ``(close, volume) -> value`` of the bar just folded in, read after
every indicator it depends on has been updated."""


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: an int at least ``minimum``, or (``real``) a number above 0."""

    name: str
    default: int | float
    minimum: int = 1
    real: bool = False


class Columns:
    """A history's arrays, with the indicator twins each computed once however many features
    read them."""

    def __init__(
        self,
        *,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
        flow: tuple[FloatArray, FloatArray] | None,
        book: tuple[FloatArray, FloatArray] | None,
    ) -> None:
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.flow = flow
        self.book = book
        self._cache: dict[tuple[object, ...], object] = {}

    def _get(self, key: tuple[object, ...], compute: Callable[[], object]) -> object:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def sma(self, period: int) -> FloatArray:
        """SMA of the close."""
        return self._get(("sma", period), lambda: sma(self.close, period))  # type: ignore[return-value]

    def ema(self, period: int) -> FloatArray:
        """EMA of the close."""
        return self._get(("ema", period), lambda: ema(self.close, period))  # type: ignore[return-value]

    def macd(self, fast: int, slow: int, signal: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """MACD line, signal and histogram of the close."""
        key = ("macd", fast, slow, signal)
        return self._get(key, lambda: macd(self.close, fast, slow, signal))  # type: ignore[return-value]

    def bollinger(self, period: int, k: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Upper, middle and lower band of the close."""
        key = ("bb", period, k)
        return self._get(key, lambda: bollinger(self.close, period, k))  # type: ignore[return-value]

    def volume_sma(self, period: int) -> FloatArray:
        """SMA of the volume."""
        return self._get(("vsma", period), lambda: sma(self.volume, period))  # type: ignore[return-value]


class Lag:
    """The close ``horizon`` bars ago (NaN until there is one): a ring of ``horizon + 1`` closes."""

    __slots__ = ("_closes", "_size")

    def __init__(self, horizon: int) -> None:
        self._size = horizon + 1
        self._closes: deque[float] = deque(maxlen=self._size)

    def update(self, close: float) -> None:
        """Fold one close in."""
        self._closes.append(close)

    @property
    def value(self) -> float:
        """The close ``horizon`` bars before the latest, NaN while there is none."""
        return self._closes[0] if len(self._closes) == self._size else math.nan

    def reset(self) -> None:
        """Forget every close."""
        self._closes.clear()


class Flow:
    """Buyer- and seller-initiated size traded since the last bar closed."""

    __slots__ = ("buy", "sell")

    def __init__(self) -> None:
        self.buy = 0.0
        self.sell = 0.0


class Book:
    """Top-of-book sizes of the latest quote; both 0.0 before the first one."""

    __slots__ = ("ask", "bid")

    def __init__(self) -> None:
        self.bid = 0.0
        self.ask = 0.0


class Wiring:
    """The incremental side's indicators, each created once and updated once per bar.

    ``close_updates`` take the close, ``volume_updates`` the volume, ``bar_updates``
    ``(high, low, close)``; the engine runs them all before reading any feature.
    """

    def __init__(self) -> None:
        self.close_updates: list[Callable[[float], None]] = []
        self.volume_updates: list[Callable[[float], None]] = []
        self.bar_updates: list[Callable[[float, float, float], None]] = []
        self.resets: list[Callable[[], None]] = []
        self.flow = Flow()
        self.book = Book()
        self._made: dict[tuple[object, ...], object] = {}

    def _close(
        self, key: tuple[object, ...], make: Callable[[], SMA | EMA | RSI | MACD | BollingerBands]
    ) -> object:
        if key not in self._made:
            made = self._made[key] = make()
            self.close_updates.append(made.update)
            self.resets.append(made.reset)
        return self._made[key]

    def sma(self, period: int) -> SMA:
        """SMA of the close."""
        return self._close(("sma", period), lambda: SMA(period))  # type: ignore[return-value]

    def ema(self, period: int) -> EMA:
        """EMA of the close."""
        return self._close(("ema", period), lambda: EMA(period))  # type: ignore[return-value]

    def rsi(self, period: int) -> RSI:
        """RSI of the close."""
        return self._close(("rsi", period), lambda: RSI(period))  # type: ignore[return-value]

    def macd(self, fast: int, slow: int, signal: int) -> MACD:
        """MACD of the close."""
        return self._close(("macd", fast, slow, signal), lambda: MACD(fast, slow, signal))  # type: ignore[return-value]

    def bollinger(self, period: int, k: float) -> BollingerBands:
        """Bollinger bands of the close."""
        return self._close(("bb", period, k), lambda: BollingerBands(period, k))  # type: ignore[return-value]

    def lag(self, horizon: int) -> Lag:
        """The close ``horizon`` bars ago."""
        key = ("lag", horizon)
        if key not in self._made:
            lag = self._made[key] = Lag(horizon)
            self.close_updates.append(lag.update)
            self.resets.append(lag.reset)
        return self._made[key]  # type: ignore[return-value]

    def atr(self, period: int) -> ATR:
        """ATR of the bars."""
        key = ("atr", period)
        if key not in self._made:
            made = self._made[key] = ATR(period)
            self.bar_updates.append(made.update)
            self.resets.append(made.reset)
        return self._made[key]  # type: ignore[return-value]

    def volume_sma(self, period: int) -> SMA:
        """SMA of the volume."""
        key = ("vsma", period)
        if key not in self._made:
            made = self._made[key] = SMA(period)
            self.volume_updates.append(made.update)
            self.resets.append(made.reset)
        return self._made[key]  # type: ignore[return-value]
