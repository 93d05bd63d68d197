"""domain.orders: fills, the order aggregate and its state machine."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import DomainError, IllegalTransition, InvalidValue, Overfill
from domain.orders import (
    TRANSITIONS,
    DuplicateFill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from domain.values import OrderSide
from tests.builders import (
    BTCUSDT,
    ETHUSDT,
    STEP_NS,
    STRATEGY,
    TS,
    VENUE_ORDER_ID,
    make_fill,
    make_fill_for,
    make_order,
    make_order_in,
)

S = OrderStatus
NOT_POSITIVE = ["0", "-1", "-0.5", 0, -2]
NOT_A_DECIMAL = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999999", "", "  ", "abc", "1.2.3", 0.5, True]
MALFORMED_INSTRUMENT_IDS = [
    "btcusdt.binance",
    "BTCUSDT",
    "BTCUSDT.",
    ".BINANCE",
    "B" * 33 + ".BINANCE",
    "BTCUSDT." + "V" * 17,
    "BTCÜSDT.BINANCE",
    "",
]


def snapshot(order: Order) -> tuple[object, ...]:
    """Everything a failed move must leave untouched."""
    return (
        order.status,
        order.filled_quantity,
        order.avg_fill_price,
        len(order.events),
        list(order.fills),
        order.venue_order_id,
        order.ts_last,
    )


def remaining(order: Order) -> Decimal:
    """quantity - filled, even for a terminal order (whose leaves_quantity is 0)."""
    return order.quantity - order.filled_quantity


# -- construction --------------------------------------------------------------------------


def test_new_order_is_initialized_with_one_event_and_nothing_filled() -> None:
    order = make_order(quantity="2.5", price="100.10")
    assert order.client_order_id == "O-1"
    assert order.instrument_id == BTCUSDT
    assert order.side is OrderSide.BUY
    assert order.order_type is OrderType.LIMIT
    assert order.quantity == Decimal("2.5")
    assert order.price == Decimal("100.10")
    assert order.stop_price is None
    assert order.time_in_force is TimeInForce.GTC
    assert order.strategy_id == STRATEGY
    assert order.status is S.INITIALIZED
    assert order.filled_quantity == 0
    assert order.leaves_quantity == Decimal("2.5")
    assert order.avg_fill_price is None
    assert order.venue_order_id is None
    assert not order.is_open
    assert not order.is_terminal
    assert order.ts_init == order.ts_last == TS
    assert [(e.status, e.ts_event) for e in order.events] == [(S.INITIALIZED, TS)]


@pytest.mark.parametrize(
    ("order_type", "price", "stop_price"),
    [
        (OrderType.MARKET, None, None),
        (OrderType.LIMIT, "100", None),
        (OrderType.STOP_MARKET, None, "95"),
        (OrderType.STOP_LIMIT, "94.5", "95"),
    ],
)
def test_order_takes_exactly_the_prices_its_type_needs(
    order_type: OrderType, price: str | None, stop_price: str | None
) -> None:
    order = Order(
        client_order_id="O-1",
        instrument_id=BTCUSDT,
        side=OrderSide.SELL,
        order_type=order_type,
        quantity="1",
        price=price,
        stop_price=stop_price,
        ts_init=TS,
    )
    assert order.price == (Decimal(price) if price else None)
    assert order.stop_price == (Decimal(stop_price) if stop_price else None)


@pytest.mark.parametrize("raw", ["", "x" * 65, "O 1", "O/1", "ordre-été", None, 7])
def test_order_refuses_a_bad_client_order_id(raw: object) -> None:
    with pytest.raises(InvalidValue, match="client_order_id"):
        make_order(client_order_id=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", MALFORMED_INSTRUMENT_IDS)
def test_order_refuses_a_malformed_instrument_id(raw: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape("instrument_id must look like SYMBOL.VENUE")):
        make_order(instrument_id=raw)


@pytest.mark.parametrize("raw", ["BUY", 1, -1, True, None])
def test_order_refuses_a_side_that_is_not_an_order_side(raw: object) -> None:
    with pytest.raises(InvalidValue, match="side must be BUY or SELL"):
        make_order(side=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["LIMIT", None, 1])
def test_order_refuses_an_order_type_that_is_not_an_order_type(raw: object) -> None:
    with pytest.raises(InvalidValue, match="order_type must be an OrderType"):
        Order(
            client_order_id="O-1",
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            order_type=raw,  # type: ignore[arg-type]
            quantity="1",
            ts_init=TS,
        )


@pytest.mark.parametrize("raw", ["GTC", None, 0])
def test_order_refuses_a_time_in_force_that_is_not_a_time_in_force(raw: object) -> None:
    with pytest.raises(InvalidValue, match="time_in_force must be GTC, IOC or FOK"):
        make_order(time_in_force=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL + [None])
def test_order_refuses_a_quantity_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="quantity") as caught:
        make_order(quantity=raw)
    assert caught.value.field == "quantity"


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_order_refuses_a_limit_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="price"):
        make_order(order_type=OrderType.LIMIT, price=raw)


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_order_refuses_a_stop_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="stop_price"):
        make_order(order_type=OrderType.STOP_MARKET, stop_price=raw)


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.STOP_LIMIT])
def test_order_refuses_a_limit_type_without_a_price(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"price is required for a {order_type.value} order"):
        Order(
            client_order_id="O-1",
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            order_type=order_type,
            quantity="1",
            stop_price="1" if order_type.has_stop else None,
            ts_init=TS,
        )


@pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_order_refuses_a_stop_type_without_a_stop_price(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"stop_price is required for a {order_type.value} order"):
        Order(
            client_order_id="O-1",
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            order_type=order_type,
            quantity="1",
            price="1" if order_type.has_price else None,
            ts_init=TS,
        )


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.STOP_MARKET])
def test_order_refuses_a_price_on_a_market_type(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"price must not be set on a {order_type.value} order"):
        make_order(order_type=order_type, price="100")


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.LIMIT])
def test_order_refuses_a_stop_price_on_a_type_without_a_stop(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"stop_price must not be set on a {order_type.value} order"):
        make_order(order_type=order_type, stop_price="100")


@pytest.mark.parametrize("raw", [-1, True, 1.5, "1700000000000000000", None])
def test_order_refuses_a_timestamp_that_is_not_non_negative_nanoseconds(raw: object) -> None:
    with pytest.raises(InvalidValue, match="ts_init must be a non-negative integer of nanoseconds"):
        make_order(ts_init=raw)  # type: ignore[arg-type]


def _post_only(order_type: OrderType, post_only: object) -> Order:
    return Order(
        client_order_id="O-1",
        instrument_id=BTCUSDT,
        side=OrderSide.BUY,
        order_type=order_type,
        quantity="1",
        price="100" if order_type.has_price else None,
        stop_price="105" if order_type.has_stop else None,
        post_only=post_only,  # type: ignore[arg-type]  # Order checks the type itself
        ts_init=TS,
    )


def test_an_order_is_not_post_only_unless_asked() -> None:
    assert make_order().post_only is False


def test_a_limit_order_may_be_post_only() -> None:
    assert _post_only(OrderType.LIMIT, True).post_only is True


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_post_only_is_refused_on_an_order_that_is_not_a_limit(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"post_only is only for a LIMIT order, not {order_type.value}"):
        _post_only(order_type, True)


@pytest.mark.parametrize("raw", [1, "true", None, 0])
def test_post_only_must_be_a_bool(raw: object) -> None:
    with pytest.raises(InvalidValue, match="post_only must be true or false"):
        _post_only(OrderType.LIMIT, raw)


# -- Fill ----------------------------------------------------------------------------------


def test_fill_parses_its_numbers_and_computes_notional_and_signed_quantity() -> None:
    fill = make_fill(side=OrderSide.SELL, quantity="0.5", price="43000.10", fee="-0.01")
    assert fill.quantity == Decimal("0.5")
    assert fill.price == Decimal("43000.10")
    assert fill.fee == Decimal("-0.01")  # a maker rebate
    assert fill.notional == Decimal("21500.050")
    assert fill.signed_quantity == Decimal("-0.5")
    assert fill.liquidity is LiquiditySide.TAKER


def test_fill_signed_quantity_and_notional_keep_every_digit() -> None:
    quantity = "1234567890123456789.0123456789"  # 29 digits
    fill = make_fill(side=OrderSide.SELL, quantity=quantity, price="1.5")
    assert fill.signed_quantity == Decimal("-" + quantity)
    assert fill.notional == Decimal("1851851835185185183.51851851835")


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_fill_refuses_a_quantity_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="fill quantity"):
        make_fill(quantity=raw)


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_fill_refuses_a_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="fill price"):
        make_fill(price=raw)


@pytest.mark.parametrize("raw", NOT_A_DECIMAL)
def test_fill_refuses_a_fee_that_is_not_a_finite_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="fill fee"):
        make_fill(fee=raw)


def test_fill_refuses_an_empty_trade_id() -> None:
    with pytest.raises(InvalidValue, match="trade_id must not be empty"):
        make_fill(trade_id="")


@pytest.mark.parametrize("raw", ["BUY", "SELL", 0, 2, True, None, 1.0])
def test_fill_refuses_a_side_that_is_not_buy_or_sell(raw: object) -> None:
    with pytest.raises(InvalidValue, match="side"):
        make_fill(side=raw)  # type: ignore[arg-type]


def test_fill_takes_the_integer_sign_of_a_stored_side() -> None:
    assert make_fill(side=-1).side is OrderSide.SELL  # type: ignore[arg-type]


def test_a_fill_pays_its_fee_in_the_quote_currency_unless_it_names_an_asset() -> None:
    assert make_fill().fee_asset == ""
    assert replace(make_fill(fee="0.001"), fee_asset="BNB").fee_asset == "BNB"


@pytest.mark.parametrize("raw", ["bnb", " BNB", "B-NB", "X" * 17, None, 7])
def test_fill_refuses_a_fee_asset_that_is_not_an_asset_code(raw: object) -> None:
    with pytest.raises(InvalidValue, match="fill fee_asset must be an upper-case asset code"):
        replace(make_fill(), fee_asset=raw)  # type: ignore[arg-type]  # Fill checks it


# -- the happy paths -----------------------------------------------------------------------


def test_order_lifecycle_submit_accept_partial_fill_fill() -> None:
    order = make_order(quantity="3", price="101")
    order.submit(TS + 1)
    assert order.status is S.SUBMITTED
    assert order.is_open
    order.accept("V-7", TS + 2)
    assert order.venue_order_id == "V-7"
    order.fill(make_fill_for(order, quantity="1", price="100", trade_id="T-1", ts_event=TS + 3))
    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_quantity == 1
    assert order.leaves_quantity == 2
    order.fill(make_fill_for(order, quantity="2", price="101", trade_id="T-2", ts_event=TS + 4))
    assert order.status is S.FILLED
    assert order.is_terminal
    assert not order.is_open
    assert order.filled_quantity == 3
    assert order.leaves_quantity == 0
    assert order.avg_fill_price == Decimal("100.6666666666666666666666666666666666667")
    assert order.ts_last == TS + 4
    assert [e.status for e in order.events] == [
        S.INITIALIZED,
        S.SUBMITTED,
        S.ACCEPTED,
        S.PARTIALLY_FILLED,
        S.FILLED,
    ]
    assert [e.ts_event for e in order.events] == [TS, TS + 1, TS + 2, TS + 3, TS + 4]
    assert [e.fill.trade_id for e in order.events if e.fill] == ["T-1", "T-2"]
    assert order.events[-1].venue_order_id == "V-7"
    assert [f.trade_id for f in order.fills] == ["T-1", "T-2"]


def test_avg_fill_price_is_exact_when_the_average_is_a_short_decimal() -> None:
    order = make_order_in(S.ACCEPTED, quantity="4")
    order.fill(make_fill_for(order, quantity="1", price="100.10"))
    order.fill(make_fill_for(order, quantity="3", price="100.30"))
    assert order.avg_fill_price == Decimal("100.25")


def test_a_venue_may_fill_before_it_acknowledges_and_the_fill_brings_the_venue_id() -> None:
    order = make_order_in(S.SUBMITTED, quantity="2")
    order.fill(make_fill_for(order, quantity="1", venue_order_id="V-99"))
    assert order.status is S.PARTIALLY_FILLED
    assert order.venue_order_id == "V-99"


def test_a_fill_for_the_whole_quantity_fills_at_once() -> None:
    order = make_order_in(S.SUBMITTED, quantity="2")
    order.fill(make_fill_for(order))
    assert order.status is S.FILLED


def test_reject_from_initialized_by_risk_records_the_reason() -> None:
    order = make_order()
    order.reject("max notional 10000 exceeded", TS + 5)
    assert order.status is S.REJECTED
    assert order.leaves_quantity == 0
    assert order.events[-1].reason == "max notional 10000 exceeded"


def test_reject_from_submitted_by_the_venue() -> None:
    order = make_order_in(S.SUBMITTED)
    order.reject("insufficient balance", TS + 5)
    assert order.status is S.REJECTED


def test_cancel_pending_order_may_still_fill_then_be_canceled() -> None:
    order = make_order_in(S.ACCEPTED, quantity="4")
    order.request_cancel(TS + 10)
    order.fill(make_fill_for(order, quantity="1"))
    assert order.status is S.CANCEL_PENDING
    assert order.filled_quantity == 1
    assert order.leaves_quantity == 3
    order.cancel(TS + 20, reason="user")
    assert order.status is S.CANCELED
    assert order.leaves_quantity == 0
    assert order.filled_quantity == 1
    assert [e.status for e in order.events][-3:] == [S.CANCEL_PENDING, S.CANCEL_PENDING, S.CANCELED]


def test_a_fill_that_completes_a_cancel_pending_order_fills_it() -> None:
    order = make_order_in(S.CANCEL_PENDING, quantity="2")
    order.fill(make_fill_for(order))
    assert order.status is S.FILLED


@pytest.mark.parametrize(
    ("build", "back_to"),
    [
        (lambda: _pending_from(S.SUBMITTED), S.SUBMITTED),
        (lambda: _pending_from(S.ACCEPTED), S.ACCEPTED),
        (lambda: _pending_from(S.PARTIALLY_FILLED), S.PARTIALLY_FILLED),
    ],
    ids=["never-acknowledged", "acknowledged", "partially-filled"],
)
def test_cancel_rejected_returns_to_the_working_state_the_fills_imply(
    build: Callable[[], Order], back_to: OrderStatus
) -> None:
    order = build()
    order.cancel_rejected("too late to cancel", TS + 50)
    assert order.status is back_to
    assert order.events[-1].reason == "too late to cancel"


def test_expire_an_unfilled_fok_order() -> None:
    order = make_order_in(S.SUBMITTED, time_in_force=TimeInForce.FOK)
    order.expire(TS + 5, reason="FOK not filled")
    assert order.status is S.EXPIRED
    assert order.events[-1].reason == "FOK not filled"


def test_large_quantities_fill_exactly() -> None:
    # 29 significant digits: the default 28-digit context would round the running total.
    order = make_order_in(S.ACCEPTED, quantity="1234567890123456789.0123456789")
    order.fill(make_fill_for(order, quantity="0.0000000001"))
    assert order.leaves_quantity == Decimal("1234567890123456789.0123456788")
    order.fill(make_fill_for(order, quantity="1234567890123456789.0123456788"))
    assert order.status is S.FILLED
    assert order.filled_quantity == order.quantity


# -- the transition table ------------------------------------------------------------------


def _pending_from(status: OrderStatus) -> Order:
    """A CANCEL_PENDING order whose cancel was requested while it was ``status``."""
    order = make_order(quantity="2")
    order.submit(TS + 1)
    if status is not S.SUBMITTED:
        order.accept(VENUE_ORDER_ID, TS + 2)
    if status is S.PARTIALLY_FILLED:
        order.fill(make_fill_for(order, quantity="1"))
    order.request_cancel(TS + 3)
    return order


def _fill_half(order: Order) -> None:
    order.fill(make_fill_for(order, quantity=(remaining(order) or order.quantity) / 2))


def _fill_rest(order: Order) -> None:
    order.fill(make_fill_for(order, quantity=remaining(order) or order.quantity))


MOVES: dict[OrderStatus, Callable[[Order], None]] = {
    S.SUBMITTED: lambda order: order.submit(TS + 100),
    S.ACCEPTED: lambda order: order.accept("V-2", TS + 100),
    S.REJECTED: lambda order: order.reject("no", TS + 100),
    S.PARTIALLY_FILLED: _fill_half,
    S.FILLED: _fill_rest,
    S.CANCEL_PENDING: lambda order: order.request_cancel(TS + 100),
    S.CANCELED: lambda order: order.cancel(TS + 100),
    S.EXPIRED: lambda order: order.expire(TS + 100),
}
"""The method that asks an order to move to each state (no method leads back to INITIALIZED)."""

UNREQUESTABLE = {(S.FILLED, S.PARTIALLY_FILLED)}
"""A filled order has nothing left to fill partially: any fill on it is FILLED -> FILLED."""

FORBIDDEN = [
    (source, target)
    for source in S
    for target in MOVES
    if target not in TRANSITIONS[source] and (source, target) not in UNREQUESTABLE
]


def test_the_table_forbids_every_move_out_of_a_terminal_state_and_back_to_initialized() -> None:
    assert all(not TRANSITIONS[status] for status in S if status.is_terminal)
    assert all(S.INITIALIZED not in targets for targets in TRANSITIONS.values())
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{s.value}->{t.value}" for s, t in FORBIDDEN])
def test_a_move_the_table_forbids_raises_illegal_transition_naming_both_states(
    source: OrderStatus, target: OrderStatus
) -> None:
    order = make_order_in(source, quantity="2")
    before = snapshot(order)
    with pytest.raises(
        IllegalTransition, match=f"order O-1 cannot go from {source.value} to {target.value}"
    ) as caught:
        MOVES[target](order)
    assert (caught.value.from_state, caught.value.to_state) == (source.value, target.value)
    assert caught.value.client_order_id == "O-1"
    assert caught.value.code == "ILLEGAL_TRANSITION"
    assert isinstance(caught.value, DomainError)
    assert snapshot(order) == before


@pytest.mark.parametrize("quantity", ["0.5", "2", "3"])
def test_any_fill_on_a_filled_order_is_an_illegal_transition_not_an_overfill(quantity: str) -> None:
    order = make_order_in(S.FILLED, quantity="2")
    before = snapshot(order)
    with pytest.raises(IllegalTransition, match="from FILLED to FILLED"):
        order.fill(make_fill_for(order, quantity=quantity))
    assert snapshot(order) == before


@pytest.mark.parametrize("source", [s for s in S if s is not S.INITIALIZED])
def test_submit_is_legal_only_from_initialized(source: OrderStatus) -> None:
    # The table lets CANCEL_PENDING go back to SUBMITTED, but only a refused cancel does that.
    order = make_order_in(source, quantity="2")
    before = snapshot(order)
    with pytest.raises(IllegalTransition, match=f"from {source.value} to SUBMITTED"):
        order.submit(TS + 100)
    assert snapshot(order) == before


def test_a_late_ack_during_a_cancel_records_the_venue_id_and_stays_pending() -> None:
    order = _pending_from(S.SUBMITTED)
    order.accept("V-3", TS + 100)
    assert order.status is S.CANCEL_PENDING
    assert order.venue_order_id == "V-3"
    assert order.events[-1].reason == "accepted while a cancel was pending"
    order.cancel_rejected("too late", TS + 200)
    assert order.status is S.ACCEPTED


def test_a_second_ack_during_a_cancel_is_illegal() -> None:
    order = _pending_from(S.ACCEPTED)
    before = snapshot(order)
    with pytest.raises(IllegalTransition, match="from CANCEL_PENDING to ACCEPTED"):
        order.accept("V-3", TS + 100)
    assert snapshot(order) == before


def test_request_cancel_twice_is_illegal() -> None:
    order = make_order_in(S.CANCEL_PENDING)
    before = snapshot(order)
    with pytest.raises(IllegalTransition, match="from CANCEL_PENDING to CANCEL_PENDING"):
        order.request_cancel(TS + 100)
    assert snapshot(order) == before


@pytest.mark.parametrize("source", [s for s in S if s is not S.CANCEL_PENDING])
def test_cancel_rejected_is_legal_only_while_a_cancel_is_pending(source: OrderStatus) -> None:
    order = make_order_in(source, quantity="2")
    before = snapshot(order)
    with pytest.raises(IllegalTransition, match=f"from {source.value} to CANCEL_REJECTED"):
        order.cancel_rejected("not pending", TS + 100)
    assert snapshot(order) == before


def _reject_cancel(order: Order) -> None:
    order.cancel_rejected("too late", TS + 99)


def _working(status: OrderStatus) -> Callable[[], Order]:
    return lambda: make_order_in(status, quantity="2")


REACHED_BY: list[tuple[OrderStatus, OrderStatus, Callable[[], Order], Callable[[Order], None]]] = [
    (S.INITIALIZED, S.SUBMITTED, _working(S.INITIALIZED), MOVES[S.SUBMITTED]),
    (S.INITIALIZED, S.REJECTED, _working(S.INITIALIZED), MOVES[S.REJECTED]),
    (S.INITIALIZED, S.CANCELED, _working(S.INITIALIZED), MOVES[S.CANCELED]),  # a held stop canceled
    *[
        (source, target, _working(source), MOVES[target])
        for source in (S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED)
        for target in (S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED)
    ],
    (S.SUBMITTED, S.ACCEPTED, _working(S.SUBMITTED), MOVES[S.ACCEPTED]),
    (S.SUBMITTED, S.REJECTED, _working(S.SUBMITTED), MOVES[S.REJECTED]),
    (S.CANCEL_PENDING, S.CANCEL_PENDING, lambda: _pending_from(S.ACCEPTED), _fill_half),
    (S.CANCEL_PENDING, S.FILLED, lambda: _pending_from(S.ACCEPTED), _fill_rest),
    (S.CANCEL_PENDING, S.CANCELED, lambda: _pending_from(S.ACCEPTED), MOVES[S.CANCELED]),
    (S.CANCEL_PENDING, S.EXPIRED, lambda: _pending_from(S.ACCEPTED), MOVES[S.EXPIRED]),
    (S.CANCEL_PENDING, S.REJECTED, lambda: _pending_from(S.SUBMITTED), MOVES[S.REJECTED]),
    (S.CANCEL_PENDING, S.SUBMITTED, lambda: _pending_from(S.SUBMITTED), _reject_cancel),
    (S.CANCEL_PENDING, S.ACCEPTED, lambda: _pending_from(S.ACCEPTED), _reject_cancel),
    (S.CANCEL_PENDING, S.PARTIALLY_FILLED, lambda: _pending_from(S.PARTIALLY_FILLED), _reject_cancel),
]
"""How each move the table allows is made, so the table and the methods cannot drift apart."""


def test_every_move_the_table_allows_is_made_by_some_method() -> None:
    covered = {(source, target) for source, target, _, _ in REACHED_BY}
    allowed = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert covered == allowed


@pytest.mark.parametrize(
    ("source", "target", "build", "move"),
    REACHED_BY,
    ids=[f"{s.value}->{t.value}" for s, t, _, _ in REACHED_BY],
)
def test_a_move_the_table_allows_succeeds_and_is_recorded(
    source: OrderStatus,
    target: OrderStatus,
    build: Callable[[], Order],
    move: Callable[[Order], None],
) -> None:
    order = build()
    assert order.status is source
    events = len(order.events)
    move(order)
    assert order.status is target
    assert len(order.events) == events + 1
    assert order.events[-1].status is target


# -- fills that do not belong --------------------------------------------------------------


def test_a_fill_for_another_order_is_refused() -> None:
    order = make_order_in(S.ACCEPTED)
    before = snapshot(order)
    with pytest.raises(InvalidValue, match=re.escape("fill.client_order_id does not match O-1")):
        order.fill(make_fill(client_order_id="O-2"))
    assert snapshot(order) == before


def test_a_fill_for_another_instrument_is_refused() -> None:
    order = make_order_in(S.ACCEPTED)
    before = snapshot(order)
    with pytest.raises(InvalidValue, match=re.escape("fill.instrument_id does not match BTCUSDT.BINANCE")):
        order.fill(make_fill(instrument_id=ETHUSDT))
    assert snapshot(order) == before


def test_a_fill_on_the_other_side_is_refused() -> None:
    order = make_order_in(S.ACCEPTED)
    before = snapshot(order)
    with pytest.raises(InvalidValue, match=re.escape("fill.side does not match order side BUY")):
        order.fill(make_fill(side=OrderSide.SELL))
    assert snapshot(order) == before


def test_a_replayed_fill_is_refused_as_a_duplicate() -> None:
    order = make_order_in(S.ACCEPTED, quantity="3")
    first = make_fill_for(order, quantity="1", trade_id="T-42")
    order.fill(first)
    before = snapshot(order)
    with pytest.raises(DuplicateFill, match="order O-1 already applied fill T-42") as caught:
        order.fill(make_fill_for(order, quantity="1", trade_id="T-42", ts_event=TS + 7 * STEP_NS))
    assert caught.value.trade_id == "T-42"
    assert caught.value.code == "DUPLICATE_FILL"
    assert snapshot(order) == before


def test_an_overfill_is_refused_naming_the_quantities() -> None:
    order = make_order_in(S.PARTIALLY_FILLED, quantity="2")
    before = snapshot(order)
    with pytest.raises(
        Overfill, match=re.escape("order O-1 of quantity 2 already filled 1; a fill of 1.5 would overfill it")
    ) as caught:
        order.fill(make_fill_for(order, quantity="1.5"))
    assert caught.value.code == "OVERFILL"
    assert snapshot(order) == before


def test_an_overfill_on_a_cancel_pending_order_is_refused() -> None:
    order = make_order_in(S.CANCEL_PENDING, quantity="2")
    with pytest.raises(Overfill):
        order.fill(make_fill_for(order, quantity="2.5"))
    assert order.status is S.CANCEL_PENDING


def test_accept_refuses_an_empty_venue_order_id() -> None:
    order = make_order_in(S.SUBMITTED)
    before = snapshot(order)
    with pytest.raises(InvalidValue, match="venue_order_id must not be empty"):
        order.accept("", TS + 5)
    assert snapshot(order) == before


# -- enums ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "is_open", "is_terminal"),
    [
        (S.INITIALIZED, False, False),
        (S.SUBMITTED, True, False),
        (S.ACCEPTED, True, False),
        (S.PARTIALLY_FILLED, True, False),
        (S.CANCEL_PENDING, True, False),
        (S.FILLED, False, True),
        (S.CANCELED, False, True),
        (S.REJECTED, False, True),
        (S.EXPIRED, False, True),
    ],
)
def test_order_status_is_open_or_terminal(status: OrderStatus, is_open: bool, is_terminal: bool) -> None:
    assert (status.is_open, status.is_terminal) == (is_open, is_terminal)


@pytest.mark.parametrize(
    ("order_type", "has_price", "has_stop"),
    [
        (OrderType.MARKET, False, False),
        (OrderType.LIMIT, True, False),
        (OrderType.STOP_MARKET, False, True),
        (OrderType.STOP_LIMIT, True, True),
    ],
)
def test_order_type_says_which_prices_it_needs(
    order_type: OrderType, has_price: bool, has_stop: bool
) -> None:
    assert (order_type.has_price, order_type.has_stop) == (has_price, has_stop)


def test_order_repr_names_the_order() -> None:
    assert repr(make_order(quantity="2", price="100")) == (
        "Order(O-1 BUY 2 BTCUSDT.BINANCE LIMIT @ 100 INITIALIZED filled=0)"
    )


# -- rebuilding from the journal ---------------------------------------------------------------


def _blank_like(order: Order) -> Order:
    return make_order(
        client_order_id=order.client_order_id,
        order_type=order.order_type,
        price=order.price,
        stop_price=order.stop_price,
        ts_init=order.ts_init,
    )


def test_a_triggered_partly_filled_then_canceled_stop_replays_to_the_same_order() -> None:
    order = make_order(order_type=OrderType.STOP_LIMIT, price="101", stop_price="100")
    order.trigger(TS + STEP_NS, Decimal("100.5"))
    order.submit(TS + 2 * STEP_NS)
    order.accept(VENUE_ORDER_ID, TS + 3 * STEP_NS)
    order.fill(make_fill_for(order, quantity="0.4", price="101"))
    order.request_cancel(TS + 5 * STEP_NS)
    order.cancel(TS + 6 * STEP_NS, "by request")
    rebuilt = _blank_like(order)
    rebuilt.replay(order.events[1:])
    assert rebuilt.events == order.events
    assert rebuilt.triggered_price == Decimal("100.5")
    assert rebuilt.effective_type is OrderType.LIMIT
    assert (rebuilt.status, rebuilt.filled_quantity, rebuilt.venue_order_id) == (
        S.CANCELED,
        Decimal("0.4"),
        VENUE_ORDER_ID,
    )


def test_a_journal_that_could_not_have_happened_is_refused() -> None:
    order = make_order(price="100")
    order.submit(TS + STEP_NS)
    order.reject("no", TS + 2 * STEP_NS)
    accepted_after_reject = make_order(price="100")
    accepted_after_reject.submit(TS + STEP_NS)
    accepted_after_reject.accept(VENUE_ORDER_ID, TS + 2 * STEP_NS)
    with pytest.raises(IllegalTransition):
        _blank_like(order).replay([*order.events[1:], accepted_after_reject.events[-1]])
    other = make_order(client_order_id="OTHER-1", price="100")
    other.submit(TS + STEP_NS)
    with pytest.raises(InvalidValue, match="does not match"):
        _blank_like(order).replay(other.events[1:])
