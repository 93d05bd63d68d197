"""Technical indicators, each incremental (O(1) per update) with a vectorized numpy twin.

Definitions are TA-Lib's (the test oracle): warm-up lengths, seeding and smoothing match
``talib`` within 1e-9 relative (measured: ≤ 2e-14 for SMA/EMA/RSI/ATR, ≤ 5e-13 for
Bollinger, ≤ 2e-10 for MACD near zero crossings). Indicators work in binary floats: convert
``Decimal`` prices explicitly (``float(price)``); ``update`` refuses Decimals, NaN and
infinities. Every class has ``update``, ``ready``, ``count``, ``warmup``, ``reset()`` and its
outputs (NaN until ready); every twin returns arrays as long as its input, NaN in the warm-up.
"""

from domain.indicators._common import MAX_PERIOD
from domain.indicators.average_true_range import ATR, atr
from domain.indicators.bollinger_bands import BollingerBands, bollinger
from domain.indicators.exponential_moving_average import EMA, ema
from domain.indicators.moving_average_convergence import MACD, macd
from domain.indicators.relative_strength import RSI, rsi
from domain.indicators.simple_moving_average import SMA, sma
from domain.indicators.volume_weighted_price import VWAP, vwap

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "MAX_PERIOD",
    "RSI",
    "SMA",
    "VWAP",
    "BollingerBands",
    "atr",
    "bollinger",
    "ema",
    "macd",
    "rsi",
    "sma",
    "vwap",
]
