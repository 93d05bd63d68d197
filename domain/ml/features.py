"""Model features: which ones (``FeatureSpec``), over a history (``feature_matrix``) and live
(``FeatureEngine``), with the same numbers both ways.

Row ``i`` of a feature matrix is what the engine returns from ``on_bar`` for bar ``i``: the
features as of that bar's close, from bars ``0..i`` only, so a model trained on the matrix
is fed live exactly what it learned from. The definitions, parameters and warm-ups are in
``domain.ml.feature_kinds`` and docs/ml-features.md; ``FeatureSpec``, ``parse_feature_set`` and
``DEFAULT_FEATURES`` (from ``domain.ml.feature_spec``) are exported here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidParameter, InvalidValue
from domain.indicators._common import FloatArray
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.ml.feature_inputs import Columns, Wiring
from domain.ml.feature_kinds import KINDS
from domain.ml.feature_spec import DEFAULT_FEATURES, FeatureSpec, parse_feature_set
from domain.values import AggressorSide

__all__ = [
    "DEFAULT_FEATURES",
    "BarArrays",
    "FeatureEngine",
    "FeatureSpec",
    "FloatArray",
    "feature_matrix",
    "parse_feature_set",
]


def _series(value: object, field_name: str, length: int | None) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidValue(field_name, array.shape, "must be one-dimensional")
    if length is not None and array.shape[0] != length:
        raise InvalidValue(field_name, array.shape[0], f"must be as long as close ({length})")
    finite = np.isfinite(array)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise InvalidValue(f"{field_name}[{index}]", float(array[index]), "must be finite")
    return array


def _at_least(array: FloatArray, field_name: str, *, positive: bool) -> None:
    bad = array <= 0.0 if positive else array < 0.0
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        problem = "must be greater than zero" if positive else "must not be negative"
        raise InvalidValue(f"{field_name}[{index}]", float(array[index]), problem)


@dataclass(frozen=True, eq=False)
class BarArrays:
    """A history of bars as columns, oldest first: what ``feature_matrix`` reads.

    Construction checks and converts every column to one-dimensional float64 arrays of one
    length: prices finite and above zero with ``low <= high``, volumes and sizes finite and
    not negative. ``buy_volume``/``sell_volume`` are the bar's taker-buy and taker-sell volume
    (Binance klines carry them), ``bid_size``/``ask_size`` the top of book at the bar's close
    (0 and 0 before any quote); ``None`` when the history does not have them, and the
    features that need them then refuse it. Raises InvalidValue naming the bad column and row.
    Compared by identity: element-wise ``==`` of whole histories has no single truth value.
    """

    ts_event: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    buy_volume: FloatArray | None = None
    sell_volume: FloatArray | None = None
    bid_size: FloatArray | None = None
    ask_size: FloatArray | None = None

    def __post_init__(self) -> None:
        close = _series(self.close, "close", None)
        length = close.shape[0]
        object.__setattr__(self, "close", close)
        ts_event = np.asarray(self.ts_event, dtype=np.int64)
        if ts_event.shape != (length,):
            raise InvalidValue(
                "ts_event", ts_event.shape, f"must be one-dimensional and as long as close ({length})"
            )
        object.__setattr__(self, "ts_event", ts_event)
        for name in ("open", "high", "low"):
            object.__setattr__(self, name, _series(getattr(self, name), name, length))
        for name in ("open", "high", "low", "close"):
            _at_least(getattr(self, name), name, positive=True)
        above = self.low > self.high
        if above.any():
            index = int(np.flatnonzero(above)[0])
            raise InvalidValue(
                f"low[{index}]", float(self.low[index]), f"must not be above high ({self.high[index]})"
            )
        for name in ("volume", "buy_volume", "sell_volume", "bid_size", "ask_size"):
            value = getattr(self, name)
            if value is not None:
                array = _series(value, name, length)
                _at_least(array, name, positive=False)
                object.__setattr__(self, name, array)
        for first, second in (("buy_volume", "sell_volume"), ("bid_size", "ask_size")):
            if (getattr(self, first) is None) != (getattr(self, second) is None):
                raise InvalidValue(
                    second if getattr(self, second) is None else first,
                    None,
                    f"must be given with {first if getattr(self, first) is None else second}",
                )

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def head(self, stop: int) -> BarArrays:
        """The first ``stop`` bars: the history as it stood at bar ``stop - 1``'s close."""

        def cut(column: FloatArray | None) -> FloatArray | None:
            return None if column is None else column[:stop]

        return BarArrays(
            self.ts_event[:stop],
            self.open[:stop],
            self.high[:stop],
            self.low[:stop],
            self.close[:stop],
            self.volume[:stop],
            cut(self.buy_volume),
            cut(self.sell_volume),
            cut(self.bid_size),
            cut(self.ask_size),
        )

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarArrays:
        """Columns of ``bars`` (their Decimals as floats); no taker volume, no book sizes."""
        return cls(
            np.array([bar.ts_event for bar in bars], dtype=np.int64),
            np.array([float(bar.open) for bar in bars], dtype=np.float64),
            np.array([float(bar.high) for bar in bars], dtype=np.float64),
            np.array([float(bar.low) for bar in bars], dtype=np.float64),
            np.array([float(bar.close) for bar in bars], dtype=np.float64),
            np.array([float(bar.volume) for bar in bars], dtype=np.float64),
        )


def _specs(specs: Sequence[FeatureSpec]) -> tuple[FeatureSpec, ...]:
    result = tuple(specs)
    if not result:
        raise InvalidParameter("specs", result, "must name at least one feature")
    for index, spec in enumerate(result):
        if not isinstance(spec, FeatureSpec):
            raise InvalidParameter(f"specs[{index}]", spec, "must be a FeatureSpec")
    return result


def feature_matrix(specs: Sequence[FeatureSpec], bars: BarArrays) -> FloatArray:
    """The features of every bar: shape ``(len(bars), len(specs))``, column j for ``specs[j]``.

    Row ``i`` reads bars ``0..i`` only and is NaN in the columns still warming up. Raises
    InvalidParameter for an empty ``specs`` and when a feature needs a column the history
    lacks (``trade_flow_imbalance`` without taker volume, ``book_imbalance`` without sizes).
    """
    chosen = _specs(specs)
    flow = None
    if bars.buy_volume is not None and bars.sell_volume is not None:
        flow = (bars.buy_volume, bars.sell_volume)
    book = None
    if bars.bid_size is not None and bars.ask_size is not None:
        book = (bars.bid_size, bars.ask_size)
    data = Columns(high=bars.high, low=bars.low, close=bars.close, volume=bars.volume, flow=flow, book=book)
    out = np.empty((len(bars), len(chosen)), dtype=np.float64)
    for column, spec in enumerate(chosen):
        out[:, column] = KINDS[spec.kind].column(spec.params, data)
    return out


class FeatureEngine:
    """The incremental twin of ``feature_matrix``: one row per bar, as the bar closes.

    Feed it the instrument's trades (``on_trade``, for ``trade_flow_imbalance``) and quotes
    (``on_quote``, for ``book_imbalance``) as they arrive, and each bar once it closes
    (``on_bar``). Rows equal ``feature_matrix``'s within 1e-9 relative (the simple averages
    differ only by rounding: a running sum against one sum per window). Each indicator is
    updated once per bar however many features read it. Raises InvalidParameter for an
    empty ``specs``.
    """

    __slots__ = (
        "_bar_updates",
        "_book",
        "_close_updates",
        "_count",
        "_flow",
        "_names",
        "_resets",
        "_specs",
        "_streams",
        "_volume_updates",
        "_warmup",
    )

    def __init__(self, specs: Sequence[FeatureSpec]) -> None:
        self._specs = _specs(specs)
        self._names = tuple(spec.name for spec in self._specs)
        self._warmup = max(spec.warmup for spec in self._specs)
        wiring = Wiring()
        self._streams = tuple(KINDS[spec.kind].stream(spec.params, wiring) for spec in self._specs)
        self._close_updates = tuple(wiring.close_updates)
        self._volume_updates = tuple(wiring.volume_updates)
        self._bar_updates = tuple(wiring.bar_updates)
        self._resets = tuple(wiring.resets)
        self._flow = wiring.flow
        self._book = wiring.book
        self._count = 0

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        """The features, in column order."""
        return self._specs

    @property
    def names(self) -> tuple[str, ...]:
        """The features' names, in column order."""
        return self._names

    @property
    def warmup(self) -> int:
        """Bars needed before the first row: ``on_bar`` returns None for the ones before."""
        return self._warmup

    @property
    def count(self) -> int:
        """Bars seen since construction or the last ``reset``."""
        return self._count

    @property
    def ready(self) -> bool:
        """True once ``warmup`` bars have been seen."""
        return self._count >= self._warmup

    def on_trade(self, tick: TradeTick) -> None:
        """Count a trade's size as buyer- or seller-initiated until the bar closes; a trade
        whose venue names no aggressor is left out."""
        aggressor = tick.aggressor
        if aggressor is AggressorSide.BUYER:
            self._flow.buy += float(tick.size)
        elif aggressor is AggressorSide.SELLER:
            self._flow.sell += float(tick.size)

    def on_quote(self, quote: QuoteTick) -> None:
        """Keep the latest top-of-book sizes: ``book_imbalance`` reads them at each bar."""
        book = self._book
        book.bid = float(quote.bid_size)
        book.ask = float(quote.ask_size)

    def on_bar(self, bar: Bar) -> tuple[float, ...] | None:
        """Fold a closed bar in; its features, or None while any is warming up.

        The trades counted since the previous bar are consumed (the next bar starts from
        none); the latest quote is kept.
        """
        return self.update(float(bar.high), float(bar.low), float(bar.close), float(bar.volume))

    def update(self, high: float, low: float, close: float, volume: float) -> tuple[float, ...] | None:
        """``on_bar`` from floats, for replays that already hold them."""
        for step in self._close_updates:
            step(close)
        for step in self._volume_updates:
            step(volume)
        for bar_step in self._bar_updates:
            bar_step(high, low, close)
        count = self._count = self._count + 1
        row = tuple([stream(close, volume) for stream in self._streams]) if count >= self._warmup else None
        flow = self._flow
        flow.buy = flow.sell = 0.0
        return row

    def reset(self) -> None:
        """Forget every bar, trade and quote: back to the state right after construction."""
        for reset in self._resets:
            reset()
        self._flow.buy = self._flow.sell = 0.0
        self._book.bid = self._book.ask = 0.0
        self._count = 0
