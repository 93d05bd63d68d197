"""Cumulative volume-weighted average price, incremental and vectorized (not in TA-Lib)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidValue
from domain.indicators._base import Indicator
from domain.indicators._common import NAN, FloatArray, as_series, finite_float, same_length


class VWAP(Indicator):
    """Incremental cumulative VWAP: ``Σ price·volume / Σ volume`` since the last ``reset``.

    Ready as soon as the cumulative volume is above zero (updates with zero volume count
    but weigh nothing); call ``reset()`` at a session boundary. ``warmup`` is 1: the
    fewest updates that can make it ready.

    Raises InvalidValue from ``update`` when the price or volume is NaN, infinite or not
    a number, or the volume is negative.
    """

    __slots__ = ("_price_volume", "_volume")

    # Set by reset().
    _price_volume: float
    _volume: float

    def __init__(self) -> None:
        self._warmup = 1
        self.reset()

    @property
    def ready(self) -> bool:
        """True once some volume has been seen."""
        return self._volume > 0.0

    @property
    def volume(self) -> float:
        """Cumulative volume since the last ``reset``."""
        return self._volume

    @property
    def value(self) -> float:
        """The volume-weighted average price, NaN while no volume has been seen."""
        if self._volume > 0.0:
            return self._price_volume / self._volume
        return NAN

    def update(self, price: float, volume: float) -> None:
        """Add a trade or bar. Raises InvalidValue for a non-finite input or negative volume."""
        if type(price) is not float or price - price != 0.0:
            price = finite_float(price, "price")
        if type(volume) is not float or volume - volume != 0.0:
            volume = finite_float(volume, "volume")
        if volume < 0.0:
            raise InvalidValue("volume", volume, "must not be negative")
        self._price_volume += price * volume
        self._volume += volume
        self._count += 1

    def reset(self) -> None:
        """Start a new session: forget every trade."""
        self._price_volume = 0.0
        self._volume = 0.0
        self._count = 0

    def __repr__(self) -> str:
        return f"VWAP(count={self._count}, volume={self._volume}, value={self.value})"


def vwap(price: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """Vectorized twin of :class:`VWAP`: the cumulative VWAP after each entry.

    Returns a float64 array as long as the inputs, NaN until the cumulative volume is
    above zero. ``numpy.cumsum`` adds sequentially, so the numbers equal the incremental
    class's bit for bit. Raises InvalidValue when an input is not a one-dimensional array
    of finite numbers, the lengths differ, or a volume is negative.
    """
    p = as_series(price, "price")
    v = as_series(volume, "volume")
    same_length("volume", v, p.shape[0])
    negative = v < 0.0
    if negative.any():
        index = int(np.flatnonzero(negative)[0])
        raise InvalidValue(f"volume[{index}]", float(v[index]), "must not be negative")
    cumulative_volume = np.cumsum(v)
    cumulative_price_volume = np.cumsum(p * v)
    out = np.full(p.shape[0], np.nan, dtype=np.float64)
    seen = cumulative_volume > 0.0
    out[seen] = cumulative_price_volume[seen] / cumulative_volume[seen]
    return out
