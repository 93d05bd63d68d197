"""PositionStops: stop-loss, take-profit and trailing exits for longs and shorts, once per breach."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId
from domain.orders import Fill, OrderType
from domain.positions import Position
from domain.risk import STOPS_STRATEGY_ID, PositionStops, StopRules
from domain.values import OrderSide

from .builders import BTC, BUY, ETH, SELL, T0

_trades = iter(range(1, 10**9))


def fill(position: Position, side: OrderSide, quantity: str, price: str) -> Position:
    n = next(_trades)
    position.apply(
        Fill(
            instrument_id=position.instrument_id,
            client_order_id=ClientOrderId(f"C-{n}"),
            trade_id=TradeId(f"T-{n}"),
            side=side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            ts_event=T0,
        )
    )
    return position


def long(quantity: str = "2", price: str = "100", iid: InstrumentId = BTC) -> Position:
    return fill(Position(iid), BUY, quantity, price)


def short(quantity: str = "2", price: str = "100") -> Position:
    return fill(Position(BTC), SELL, quantity, price)


def stops(**rules: str) -> PositionStops:
    return PositionStops(StopRules(**{k: Decimal(v) for k, v in rules.items()}))


def tick(tracker: PositionStops, position: Position, *prices: str) -> list[str]:
    """Feed prices; the reason prefix of each exit emitted ("" for none)."""
    out = []
    for n, price in enumerate(prices):
        exit_ = tracker.on_price(position, Decimal(price), T0 + n)
        out.append(exit_.reason.split(":")[0] if exit_ is not None else "")
    return out


def test_a_long_stop_loss_emits_a_reduce_only_market_sell_of_the_whole_position() -> None:
    tracker = stops(stop_loss_fraction="0.05")
    position = long("2", "100")

    assert tracker.on_price(position, Decimal("95.01"), T0) is None
    exit_ = tracker.on_price(position, Decimal("95"), T0 + 7)

    assert exit_ is not None
    assert (exit_.side, exit_.quantity, exit_.order_type, exit_.reduce_only) == (
        SELL,
        Decimal(2),
        OrderType.MARKET,
        True,
    )
    assert (exit_.instrument_id, exit_.strategy_id, exit_.ts_event) == (BTC, STOPS_STRATEGY_ID, T0 + 7)
    assert exit_.reason == (
        "STOP_LOSS: price 95 hit the stop-loss 95 (5% below the average entry 100)"
        " for the long 2 BTCUSDT.BINANCE; closing it at market"
    )


def test_a_short_stop_loss_emits_a_buy() -> None:
    tracker = stops(stop_loss_fraction="0.05")
    position = short("3", "100")

    assert tracker.on_price(position, Decimal("104.99"), T0) is None
    exit_ = tracker.on_price(position, Decimal("105"), T0)

    assert exit_ is not None
    assert (exit_.side, exit_.quantity) == (BUY, Decimal(3))
    assert exit_.reason.startswith(
        "STOP_LOSS: price 105 hit the stop-loss 105 (5% above the average entry 100)"
    )


def test_take_profit_for_a_long_and_a_short() -> None:
    assert tick(stops(take_profit_fraction="0.2"), long(), "119.99", "120") == ["", "TAKE_PROFIT"]
    assert tick(stops(take_profit_fraction="0.2"), short(), "80.01", "80") == ["", "TAKE_PROFIT"]


def test_a_short_take_profit_of_100_percent_or_more_can_never_trigger() -> None:
    assert tick(stops(take_profit_fraction="1.5"), short(), "0.01") == [""]
    assert tick(stops(take_profit_fraction="1.5"), long(), "250") == ["TAKE_PROFIT"]


def test_a_long_trailing_stop_follows_the_highest_price() -> None:
    tracker = stops(trailing_fraction="0.1")
    position = long("1", "100")

    assert tick(tracker, position, "110", "120", "108.01") == ["", "", ""]
    assert tracker.best_price(BTC) == Decimal("120")
    exit_ = tracker.on_price(position, Decimal("108"), T0)

    assert exit_ is not None
    assert exit_.reason.startswith(
        "TRAILING_STOP: price 108 hit the trailing stop 108 (10% below the highest price 120 since entry)"
    )


def test_a_short_trailing_stop_follows_the_lowest_price() -> None:
    tracker = stops(trailing_fraction="0.1")
    position = short("1", "100")

    assert tick(tracker, position, "90", "80", "87.99", "88") == ["", "", "", "TRAILING_STOP"]
    assert tracker.best_price(BTC) == Decimal("80")


def test_the_trailing_reference_starts_at_the_entry_price() -> None:
    assert tick(stops(trailing_fraction="0.1"), long("1", "100"), "90") == ["TRAILING_STOP"]


def test_an_exit_is_emitted_once_per_breach_until_the_position_changes() -> None:
    tracker = stops(stop_loss_fraction="0.05")
    position = long("2", "100")

    assert tick(tracker, position, "94", "93", "96", "94") == ["STOP_LOSS", "", "", ""]

    fill(position, SELL, "0.5", "94")  # the exit filled in part: the position changed
    exit_ = tracker.on_price(position, Decimal("94"), T0)
    assert exit_ is not None
    assert exit_.quantity == Decimal("1.5")


def test_rearm_allows_another_exit_for_the_same_position() -> None:
    tracker = stops(stop_loss_fraction="0.05")
    position = long()
    tick(tracker, position, "94")

    tracker.rearm(BTC)
    tracker.rearm(ETH)  # not tracked: nothing to do

    assert tick(tracker, position, "94") == ["STOP_LOSS"]


def test_the_trailing_reference_resets_when_the_position_flips_or_goes_flat() -> None:
    tracker = stops(trailing_fraction="0.1")
    position = long("1", "100")
    tick(tracker, position, "150")
    assert tracker.best_price(BTC) == Decimal("150")

    fill(position, SELL, "2", "140")  # now short 1 at 140
    assert tick(tracker, position, "141") == [""]
    assert tracker.best_price(BTC) == Decimal("140")

    fill(position, BUY, "1", "141")  # flat
    assert tracker.on_price(position, Decimal("141"), T0) is None
    assert tracker.best_price(BTC) is None


def test_adding_to_a_position_keeps_the_trailing_reference() -> None:
    tracker = stops(trailing_fraction="0.1")
    position = long("1", "100")
    tick(tracker, position, "150")

    fill(position, BUY, "1", "140")

    assert tick(tracker, position, "140") == [""]
    assert tracker.best_price(BTC) == Decimal("150")


def test_the_stop_loss_wins_when_several_rules_hit() -> None:
    tracker = stops(stop_loss_fraction="0.05", trailing_fraction="0.01", take_profit_fraction="0.5")

    assert tick(tracker, long(), "90") == ["STOP_LOSS"]


def test_no_rules_means_no_exit() -> None:
    assert tick(stops(), long(), "1", "1000") == ["", ""]


def test_per_instrument_rules_override_the_default() -> None:
    tracker = PositionStops(
        StopRules(stop_loss_fraction=Decimal("0.5")),
        strategy_id=StrategyId("stops"),
        overrides={ETH: StopRules(stop_loss_fraction=Decimal("0.01"))},
    )

    assert tick(tracker, long(), "98") == [""]
    exit_ = tracker.on_price(long(iid=ETH), Decimal("99"), T0)
    assert exit_ is not None
    assert exit_.strategy_id == "stops"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("stop_loss_fraction", Decimal(0), "greater than zero"),
        ("stop_loss_fraction", Decimal("1.01"), "fraction"),
        ("trailing_fraction", Decimal(2), "fraction"),
        ("trailing_fraction", 0.1, "binary float"),
        ("take_profit_fraction", Decimal(-1), "greater than zero"),
        ("take_profit_fraction", Decimal("Infinity"), "finite"),
    ],
)
def test_bad_stop_rules_are_refused_naming_the_field(field: str, value: object, problem: str) -> None:
    with pytest.raises(InvalidParameter, match=problem) as caught:
        StopRules(**{field: value})  # type: ignore[arg-type]

    assert caught.value.field == field


def test_a_take_profit_above_100_percent_is_allowed() -> None:
    assert StopRules(take_profit_fraction=Decimal(3)).take_profit_fraction == 3


def test_bad_tracker_arguments_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        PositionStops({"stop_loss_fraction": "0.1"})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter):
        PositionStops(StopRules(), overrides={BTC: 0.1})  # type: ignore[dict-item]
    with pytest.raises(InvalidValue):
        PositionStops(StopRules(), strategy_id=StrategyId("has space"))
    with pytest.raises(InvalidValue) as caught:
        stops(stop_loss_fraction="0.1").on_price(long(), 95.0, T0)  # type: ignore[arg-type]
    assert caught.value.field == "price"
