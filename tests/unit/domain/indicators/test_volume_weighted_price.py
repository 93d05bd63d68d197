"""VWAP: hand-computed cumulative values, zero volume, session reset, twin equality."""

from __future__ import annotations

import math

import numpy as np

from domain.indicators import VWAP, vwap

TRADES = [(10.0, 1.0), (11.0, 3.0), (9.0, 0.0), (12.0, 2.0)]


def feed(indicator: VWAP, trades: list[tuple[float, float]]) -> list[float]:
    out = []
    for price, volume in trades:
        indicator.update(price, volume)
        out.append(indicator.value)
    return out


def test_hand_computed() -> None:
    # Σp·v = 10, 43, 43, 67 over Σv = 1, 4, 4, 6.
    expected = [10.0, 10.75, 10.75, 67.0 / 6.0]
    assert feed(VWAP(), TRADES) == expected
    prices, volumes = zip(*TRADES, strict=True)
    assert vwap(prices, volumes).tolist() == expected


def test_not_ready_until_some_volume() -> None:
    indicator = VWAP()
    assert (indicator.warmup, indicator.count, indicator.ready) == (1, 0, False)
    assert math.isnan(indicator.value)
    indicator.update(100.0, 0.0)
    assert (indicator.count, indicator.ready) == (1, False)
    assert math.isnan(indicator.value)
    indicator.update(101.0, 2.0)
    assert indicator.ready
    assert indicator.value == 101.0
    assert indicator.volume == 2.0
    out = vwap([100.0, 101.0], [0.0, 2.0])
    assert math.isnan(out[0])
    assert out[1] == 101.0


def test_reset_starts_a_new_session() -> None:
    indicator = VWAP()
    feed(indicator, TRADES)
    indicator.reset()
    assert (indicator.count, indicator.ready, indicator.volume) == (0, False, 0.0)
    assert math.isnan(indicator.value)
    indicator.update(50.0, 4.0)
    assert indicator.value == 50.0


def test_twin_equals_incremental_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    prices = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 500)))
    volumes = rng.uniform(0.0, 3.0, 500)
    incremental = feed(VWAP(), list(zip(prices.tolist(), volumes.tolist(), strict=True)))
    assert vwap(prices, volumes).tolist() == incremental


def test_empty_twin() -> None:
    assert vwap([], []).shape == (0,)
