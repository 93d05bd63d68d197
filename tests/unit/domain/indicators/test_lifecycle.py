"""Behaviour every indicator shares: slots, warm-up length, ready flag, NaN, reset, exports."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import domain.indicators
from domain.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    VWAP,
    BollingerBands,
    atr,
    bollinger,
    ema,
    macd,
    rsi,
    sma,
    vwap,
)
from tests.unit.domain.indicators.oracle import FloatArray, random_walk


@dataclass(frozen=True)
class Spec:
    make: Callable[[], Any]
    feed: Callable[[Any, float], None]
    outputs: Callable[[Any], tuple[float, ...]]
    twin: Callable[[FloatArray], tuple[FloatArray, ...]]


def _value(indicator: Any) -> tuple[float, ...]:
    return (indicator.value,)


def _feed_one(indicator: Any, x: float) -> None:
    indicator.update(x)


SPECS = {
    "SMA": Spec(lambda: SMA(5), _feed_one, _value, lambda x: (sma(x, 5),)),
    "EMA": Spec(lambda: EMA(5), _feed_one, _value, lambda x: (ema(x, 5),)),
    "RSI": Spec(lambda: RSI(5), _feed_one, _value, lambda x: (rsi(x, 5),)),
    "BollingerBands": Spec(
        lambda: BollingerBands(5, 2.0),
        _feed_one,
        lambda i: (i.upper, i.middle, i.lower),
        lambda x: bollinger(x, 5, 2.0),
    ),
    "MACD": Spec(
        lambda: MACD(3, 6, 4),
        _feed_one,
        lambda i: (i.macd, i.signal, i.histogram),
        lambda x: macd(x, 3, 6, 4),
    ),
    "ATR": Spec(
        lambda: ATR(5),
        lambda i, x: i.update(x * 1.01, x * 0.99, x),
        _value,
        lambda x: (atr(x * 1.01, x * 0.99, x, 5),),
    ),
    "VWAP": Spec(VWAP, lambda i, x: i.update(x, 1.0), _value, lambda x: (vwap(x, np.ones_like(x)),)),
}


@pytest.mark.parametrize("name", SPECS)
def test_uses_slots(name: str) -> None:
    indicator = SPECS[name].make()
    assert not hasattr(indicator, "__dict__")
    with pytest.raises(AttributeError):
        indicator.extra = 1


@pytest.mark.parametrize("name", SPECS)
def test_ready_exactly_after_warmup_and_nan_before(name: str) -> None:
    spec = SPECS[name]
    indicator = spec.make()
    x = random_walk(indicator.warmup + 5, 3, 100.0)
    first_values = [int(np.flatnonzero(~np.isnan(output))[0]) for output in spec.twin(x)]
    assert first_values == [indicator.warmup - 1] * len(first_values)
    for count, value in enumerate(x.tolist(), start=1):
        spec.feed(indicator, value)
        assert indicator.count == count
        assert indicator.ready == (count >= indicator.warmup)
        assert all(math.isnan(v) != indicator.ready for v in spec.outputs(indicator))


@pytest.mark.parametrize("name", SPECS)
def test_reset_then_replay_equals_a_fresh_indicator(name: str) -> None:
    spec = SPECS[name]
    used = spec.make()
    for value in random_walk(30, 1, 5.0).tolist():
        spec.feed(used, value)
    used.reset()
    assert used.count == 0
    assert not used.ready
    fresh = spec.make()
    for value in random_walk(25, 2, 7.0).tolist():
        spec.feed(used, value)
        spec.feed(fresh, value)
        assert spec.outputs(used) == spec.outputs(fresh) or all(
            math.isnan(a) and math.isnan(b)
            for a, b in zip(spec.outputs(used), spec.outputs(fresh), strict=True)
        )


@pytest.mark.parametrize("name", SPECS)
def test_repr_names_the_indicator(name: str) -> None:
    assert repr(SPECS[name].make()).startswith(f"{name}(")


def test_package_exports_every_class_and_twin() -> None:
    expected = {"SMA", "EMA", "RSI", "BollingerBands", "MACD", "ATR", "VWAP"}
    expected |= {"sma", "ema", "rsi", "bollinger", "macd", "atr", "vwap", "MAX_PERIOD"}
    assert set(domain.indicators.__all__) == expected
    for name in expected:
        assert getattr(domain.indicators, name) is not None


def test_outputs_are_builtin_floats() -> None:
    indicator = SMA(1)
    indicator.update(np.float32(1.5))
    assert type(indicator.value) is float
