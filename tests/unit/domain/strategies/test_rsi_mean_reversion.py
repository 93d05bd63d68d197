"""RsiMeanReversion: one signal per entry into the oversold or overbought zone."""

from __future__ import annotations

from domain.signals import Signal
from domain.strategies import RsiMeanReversion, RsiMeanReversionParams
from domain.values import OrderSide
from tests.builders import BTCUSDT, STRATEGY
from tests.unit.domain.strategies.events import run, sides_at, trades, ts_of


def make(period: int = 2, oversold: float = 30.0, overbought: float = 70.0) -> RsiMeanReversion:
    return RsiMeanReversion(
        strategy_id=STRATEGY,
        instrument_ids=[BTCUSDT],
        params=RsiMeanReversionParams(period=period, oversold=oversold, overbought=overbought),
    )


# RSI(2), Wilder: avg = (avg + change) / 2 after the first two changes.
#   #   price  gain     loss      RSI
#   2   12     1        0         100      first reading: no signal although overbought
#   3   11     0.5      0.5       50
#   4   12     0.75     0.25      75       50 -> 75 enters overbought: SELL
#   5   13     0.875    0.125     87.5     still overbought: nothing
#   6   10     0.4375   1.5625    21.875   enters oversold: BUY
#   7   9      0.21875  1.28125   14.58    still oversold: nothing
#   8   9      (unchanged price: folded in, not compared)
#   9   12     1.5547   0.3203    82.92    14.58 -> 82.92 enters overbought: SELL
SERIES = [10, 11, 12, 11, 12, 13, 10, 9, 9, 12]


def test_signals_once_per_entry_into_each_zone() -> None:
    assert sides_at(make(), trades(SERIES)) == [(4, "SELL"), (6, "BUY"), (9, "SELL")]


def test_signal_fields() -> None:
    signals = run(make(), trades(SERIES))

    assert signals[:2] == [
        (
            4,
            Signal(
                strategy_id=STRATEGY,
                instrument_id=BTCUSDT,
                side=OrderSide.SELL,
                strength=1.0,
                reason="RSI(2) 75 crossed above overbought 70",
                ts_event=ts_of(4),
            ),
        ),
        (
            6,
            Signal(
                strategy_id=STRATEGY,
                instrument_id=BTCUSDT,
                side=OrderSide.BUY,
                strength=1.0,
                reason="RSI(2) 21.875 crossed below oversold 30",
                ts_event=ts_of(6),
            ),
        ),
    ]


def test_reading_equal_to_oversold_counts_as_outside_the_zone() -> None:
    # 10, 11, 10: gain 0.5, loss 0.5 -> RSI 50 exactly; 9: 25 -> from >= 50 to < 50: BUY.
    assert sides_at(make(oversold=50.0), trades([10, 11, 10, 9])) == [(3, "BUY")]


def test_reading_equal_to_overbought_counts_as_outside_the_zone() -> None:
    # RSI 50 exactly, then 11: 75 -> from <= 50 to > 50: SELL.
    assert sides_at(make(oversold=20.0, overbought=50.0), trades([10, 11, 10, 11])) == [(3, "SELL")]


def test_no_signal_during_warm_up() -> None:
    strategy = make(period=3)

    assert sides_at(strategy, trades([10, 20, 30, 5])) == []
    assert strategy.warmup == 4
    assert strategy.ready


def test_a_long_flat_stretch_does_not_reset_the_zone() -> None:
    # A fall into oversold (BUY), then 12k unchanged prices, then one more down tick. In exact
    # arithmetic the RSI stays put through the flat stretch, so the down tick is no new entry.
    # In floats Wilder's averages decay into subnormals and the RSI drifts to 50: compared
    # there, the down tick would read as a second entry into oversold.
    strategy = make(period=14)
    swings = [100, 101, 99, 102, 98, 103, 97, 101, 100, 102, 99, 100, 101, 98, 103, 104]
    fall = [95, 88, 80, 72]

    signals = sides_at(strategy, trades([*swings, *fall, *[72] * 12_000, 71]))

    assert [side for index, side in signals if index >= len(swings)] == ["BUY"]
