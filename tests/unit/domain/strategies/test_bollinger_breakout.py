"""BollingerBreakout: breakouts against the bands of the prices before the current one."""

from __future__ import annotations

from domain.signals import Signal
from domain.strategies import BollingerBreakout, BollingerBreakoutParams
from domain.values import OrderSide
from tests.builders import BTCUSDT, STRATEGY
from tests.unit.domain.strategies.events import run, sides_at, trades, ts_of


def make(period: int = 2, num_std: float = 1.0) -> BollingerBreakout:
    return BollingerBreakout(
        strategy_id=STRATEGY,
        instrument_ids=[BTCUSDT],
        params=BollingerBreakoutParams(period=period, num_std=num_std),
    )


# Period 2 with 1σ: the bands of two prices a, b are exactly max(a, b) and min(a, b).
#   #   price  bands of the 2 before  where    signal
#   2   11     [10, 12]               inside   first comparison: none
#   3   13     [11, 12]               above    BUY
#   4   14     [11, 13]               above    still above: none
#   5   12     [13, 14]               below    SELL
#   6   11     [12, 14]               below    still below: none
#   7   20     [11, 12]               above    BUY
SERIES = [10, 12, 11, 13, 14, 12, 11, 20]


def test_signals_on_entry_beyond_each_band() -> None:
    assert sides_at(make(), trades(SERIES)) == [(3, "BUY"), (5, "SELL"), (7, "BUY")]


def test_signal_fields() -> None:
    signals = run(make(), trades(SERIES))

    assert signals[0] == (
        3,
        Signal(
            strategy_id=STRATEGY,
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            strength=1.0,
            reason="price 13 broke above upper band 12 of Bollinger(2, 1σ), middle 11.5",
            ts_event=ts_of(3),
        ),
    )
    assert signals[1][1].reason == "price 12 broke below lower band 13 of Bollinger(2, 1σ), middle 13.5"


def test_price_is_compared_with_the_bands_before_it_is_included() -> None:
    # Period 5, 2σ: a window that includes the price can never put it beyond 2σ
    # (|x - mean| <= σ·sqrt(4) = 2σ), yet a spike after a flat window is a breakout.
    strategy = make(period=5, num_std=2.0)

    signals = run(strategy, trades([100] * 6 + [101]))

    assert [(index, signal.side) for index, signal in signals] == [(6, OrderSide.BUY)]
    assert "upper band 100 " in signals[0][1].reason


def test_a_price_on_the_band_is_not_beyond_it() -> None:
    # #2: 12 equals the upper band [10, 12] (at, not above); #3: 13 > 12 -> BUY.
    assert sides_at(make(), trades([10, 12, 12, 13])) == [(3, "BUY")]


def test_a_flat_market_never_breaks_out() -> None:
    # Collapsed bands equal the price up to rounding: not a breakout.
    assert sides_at(make(period=7, num_std=0.5), trades(["0.1"] * 200)) == []


def test_no_signal_during_warm_up_and_on_the_first_comparison() -> None:
    strategy = make(period=3)

    assert sides_at(strategy, trades([10, 10, 10, 50])) == []
    assert strategy.warmup == 4
    assert strategy.ready
