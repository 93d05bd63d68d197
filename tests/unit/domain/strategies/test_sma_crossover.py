"""SmaCrossover: crosses of the fast SMA over the slow one, ties, warm-up and the hot path."""

from __future__ import annotations

from decimal import Decimal

from domain.signals import Signal
from domain.strategies import NO_SIGNALS, SmaCrossover, SmaCrossoverParams
from domain.values import OrderSide
from tests.builders import BTCUSDT, STRATEGY
from tests.unit.domain.strategies.events import bars, run, sides_at, trades, ts_of


def make(fast: int = 2, slow: int = 3) -> SmaCrossover:
    return SmaCrossover(
        strategy_id=STRATEGY, instrument_ids=[BTCUSDT], params=SmaCrossoverParams(fast=fast, slow=slow)
    )


def test_signals_on_each_cross_and_not_on_the_first_ready_update() -> None:
    # fast SMA(2) / slow SMA(3): ready at #2 (2.5 > 2: sign recorded, no signal),
    # #5: 3 < 3.33 -> SELL, #7: 5.5 > 4 -> BUY.
    strategy = make()

    signals = run(strategy, trades([1, 2, 3, 4, 5, 1, 1, 10]))

    assert signals == [
        (
            5,
            Signal(
                strategy_id=STRATEGY,
                instrument_id=BTCUSDT,
                side=OrderSide.SELL,
                strength=1.0,
                reason="fast SMA(2) 3 crossed below slow SMA(3) 3.333333333",
                ts_event=ts_of(5),
            ),
        ),
        (
            7,
            Signal(
                strategy_id=STRATEGY,
                instrument_id=BTCUSDT,
                side=OrderSide.BUY,
                strength=1.0,
                reason="fast SMA(2) 5.5 crossed above slow SMA(3) 4",
                ts_event=ts_of(7),
            ),
        ),
    ]


def test_no_signal_during_warm_up_even_when_the_series_crosses() -> None:
    strategy = make(fast=2, slow=5)

    assert sides_at(strategy, trades([10, 1, 10, 1, 10])) == []
    assert strategy.ready


def test_a_tie_keeps_the_previous_sign() -> None:
    # fast SMA(1) is the price. #1: 2 > 1.5 (+, recorded); #2: 2 == 2 tie; #3: 3 > 2.5 (+ again,
    # no signal); #4: 3 == 3 tie; #5: 2 < 2.5 -> SELL, the tie did not reset the sign.
    strategy = make(fast=1, slow=2)

    assert sides_at(strategy, trades([1, 2, 2, 3, 3, 2])) == [(5, "SELL")]


def test_ties_from_the_first_ready_update_leave_the_sign_unknown() -> None:
    # #1 tie (5 == 5): sign unknown; #2: 6 > 5.5 records +, no signal; #3: 4 < 5 -> SELL.
    strategy = make(fast=1, slow=2)

    assert sides_at(strategy, trades([5, 5, 6, 4])) == [(3, "SELL")]


def test_rounding_noise_on_a_flat_market_is_not_a_cross() -> None:
    # After a fall (sign -), a long flat stretch at 0.1: SMA(3) and SMA(7) of the same
    # prices differ by an ulp, which without the dead band reads as a BUY at #41.
    strategy = make(fast=3, slow=7)
    falling = [Decimal(100000 - 1000 * i) for i in range(30)]

    signals = sides_at(strategy, trades([*falling, *["0.1"] * 100]))

    assert [side for index, side in signals if index >= 30] == []


def test_signals_alternate_on_a_zig_zag() -> None:
    strategy = make(fast=1, slow=2)

    sides = [side for _, side in sides_at(strategy, trades([1, 2, 1, 2, 1, 2, 1]))]

    assert sides == ["SELL", "BUY", "SELL", "BUY", "SELL"]


def test_the_trade_hot_path_matches_the_shared_price_path() -> None:
    # on_trade inlines _on_price; the bar source goes through _on_price.
    prices = [100, 101, 99, 98, 102, 103, 101, 97, 99, 104, 100, 100, 101, 96]
    by_trade = make(fast=2, slow=4)
    by_bar = SmaCrossover(
        strategy_id=STRATEGY,
        instrument_ids=[BTCUSDT],
        params=SmaCrossoverParams(fast=2, slow=4, source="bar"),  # type: ignore[arg-type]
    )

    from_trades = run(by_trade, trades(prices))

    assert from_trades
    assert run(by_bar, bars(prices)) == from_trades


def test_no_signal_returns_the_shared_empty_tuple() -> None:
    strategy = make()

    results = [strategy.on_trade(tick) for tick in trades([1, 2, 3, 4, 5])]

    assert all(result is NO_SIGNALS for result in results)


def test_warmup_is_the_slow_period() -> None:
    assert make(fast=3, slow=7).warmup == 7
