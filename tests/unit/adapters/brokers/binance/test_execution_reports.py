"""OrderTracker: each report once, whichever path brings it, in whatever order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.execution_reports import OrderTracker
from adapters.brokers.binance.order_params import fill_of_trade, fills_of_response, parse_order, venue_order
from adapters.memory.clock import ManualClock
from application.messages import (
    BalancesReported,
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.orders import LiquiditySide, OrderStatus
from tests.builders import BTCUSDT, make_order, make_order_in
from tests.unit.adapters.brokers.binance.payloads import (
    T0_MS,
    execution_report,
    my_trade,
    order_answer,
    trade_report,
)

COID = ClientOrderId("O-1")


def _tracker() -> OrderTracker:
    tracker = OrderTracker(ManualClock(T0_MS * 1_000_000))
    order = make_order(quantity="1", price="100")
    order.submit(1)
    tracker.track(order)
    return tracker


def _kinds(reports: list[object]) -> list[str]:
    return [type(report).__name__ for report in reports]


def test_new_then_trades_then_filled() -> None:
    tracker = _tracker()

    accepted = tracker.on_execution_report(execution_report())
    first = tracker.on_execution_report(trade_report(1, "0.4", "0.4"))
    last = tracker.on_execution_report(trade_report(2, "0.6", "1", status="FILLED"))

    assert accepted == [
        OrderAccepted(client_order_id=COID, venue_order_id=VenueOrderId("7"), ts_event=T0_MS * 1_000_000)
    ]
    assert _kinds(first) == ["OrderFilled"]
    fill = first[0].fill  # type: ignore[attr-defined]
    assert (fill.trade_id, fill.quantity, fill.price, fill.fee, fill.fee_asset) == (
        "1",
        Decimal("0.4"),
        Decimal("100"),
        Decimal("0.001"),
        "BNB",
    )
    assert fill.liquidity is LiquiditySide.MAKER
    assert fill.ts_event == (T0_MS + 1) * 1_000_000
    assert _kinds(last) == ["OrderFilled"]
    assert tracker.get(COID).final  # type: ignore[union-attr]
    assert tracker.last_trade_id == {"BTCUSDT": 2}


def test_a_repeated_event_is_dropped() -> None:
    tracker = _tracker()
    tracker.on_execution_report(execution_report())
    event = trade_report(1, "0.4", "0.4")

    assert _kinds(tracker.on_execution_report(event)) == ["OrderFilled"]
    assert tracker.on_execution_report(dict(event)) == []
    assert tracker.stats.duplicate_events == 1


def test_a_fill_first_seen_in_the_answer_is_not_booked_again_from_the_stream() -> None:
    tracker = _tracker()
    answer = order_answer(
        status="PARTIALLY_FILLED",
        executedQty="0.4",
        fills=[{"price": "100", "qty": "0.4", "commission": "0.001", "commissionAsset": "BNB", "tradeId": 1}],
    )
    state = parse_order(answer)

    from_answer = tracker.on_order(state, fills_of_response(answer, state, BTCUSDT, 0))
    from_stream = tracker.on_execution_report(execution_report()) + tracker.on_execution_report(
        trade_report(1, "0.4", "0.4")
    )

    assert _kinds(from_answer) == ["OrderAccepted", "OrderFilled"]
    assert from_stream == []


def test_a_cancel_report_is_matched_by_the_original_client_order_id() -> None:
    tracker = _tracker()
    tracker.on_execution_report(execution_report())

    reports = tracker.on_execution_report(
        execution_report(x="CANCELED", X="CANCELED", c="cancel-1", C="O-1", I=9)
    )

    assert reports == [
        OrderCanceled(client_order_id=COID, reason="canceled at the venue", ts_event=T0_MS * 1_000_000)
    ]


def test_a_close_waits_for_the_fills_the_venue_counts() -> None:
    tracker = _tracker()
    tracker.on_execution_report(execution_report())

    early = tracker.on_execution_report(execution_report(x="CANCELED", X="CANCELED", z="0.4", I=9))
    assert early == []
    assert tracker.needs_trades == {COID}

    late = tracker.on_trades("BTCUSDT", [my_trade(1, "0.4")])

    assert _kinds(late) == ["OrderFilled", "OrderCanceled"]
    assert tracker.needs_trades == set()
    assert tracker.on_execution_report(trade_report(1, "0.4", "0.4")) == []


def test_a_fill_out_of_order_asks_for_the_one_missing() -> None:
    tracker = _tracker()
    tracker.on_execution_report(execution_report())

    second = tracker.on_execution_report(trade_report(2, "0.5", "0.9"))

    assert _kinds(second) == ["OrderFilled"]
    assert tracker.needs_trades == {COID}
    first = tracker.on_execution_report(trade_report(1, "0.4", "0.4"))
    assert _kinds(first) == ["OrderFilled"]
    assert tracker.get(COID).missing == 0  # type: ignore[union-attr]


def test_a_filled_status_before_its_last_fill_is_closed_by_the_fill() -> None:
    tracker = _tracker()
    state = parse_order(order_answer(status="FILLED", executedQty="1"))

    assert _kinds(tracker.on_order(state)) == ["OrderAccepted"]
    assert not tracker.get(COID).final  # type: ignore[union-attr]
    reports = tracker.on_trades("BTCUSDT", [my_trade(1, "1"), my_trade(9, "5", order_id=99)])
    assert _kinds(reports) == ["OrderFilled"]
    assert tracker.get(COID).final  # type: ignore[union-attr]


def test_expiry_and_rejection_reasons() -> None:
    tracker = _tracker()
    expired = tracker.on_execution_report(
        execution_report(x="EXPIRED", X="EXPIRED", eR="UNFILLED_IOC_QUANTITY_EXPIRED")
    )
    assert _kinds(expired) == ["OrderAccepted", "OrderExpired"]
    assert expired[1] == OrderExpired(
        client_order_id=COID,
        reason="expired at the venue (UNFILLED_IOC_QUANTITY_EXPIRED)",
        ts_event=T0_MS * 1_000_000,
    )

    rejected = _tracker().on_execution_report(
        execution_report(x="REJECTED", X="REJECTED", r="INSUFFICIENT_BALANCES")
    )
    assert rejected == [
        OrderRejected(
            client_order_id=COID,
            reason="rejected by the venue (INSUFFICIENT_BALANCES)",
            ts_event=T0_MS * 1_000_000,
        )
    ]


def test_the_final_status_is_published_once() -> None:
    tracker = _tracker()
    canceled = execution_report(x="CANCELED", X="CANCELED", I=9)

    first = tracker.on_execution_report(canceled)
    answer = tracker.on_order(parse_order(order_answer(status="CANCELED")))
    again = tracker.reject(COID, "late", 0) + tracker.cancel_rejected(COID, "late", 0)

    assert _kinds(first) == ["OrderAccepted", "OrderCanceled"]
    assert answer == []
    assert again == []


def test_a_cancel_refusal_is_reported_while_the_order_is_open() -> None:
    tracker = _tracker()

    assert tracker.cancel_rejected(COID, "venue refused (-2011): Unknown order sent.", 5) == [
        CancelRejected(client_order_id=COID, reason="venue refused (-2011): Unknown order sent.", ts_event=5)
    ]


def test_reports_of_orders_not_tracked_are_counted_not_published() -> None:
    tracker = _tracker()

    assert tracker.on_execution_report(execution_report(c="web_1234")) == []
    assert tracker.stats.untracked_reports == 1


def test_a_malformed_trade_report_is_refused() -> None:
    tracker = _tracker()
    with pytest.raises(MalformedPayload):
        tracker.on_execution_report(trade_report(1, "abc", "0.4"))


def test_an_order_tracked_from_the_engine_keeps_what_the_engine_has() -> None:
    tracker = OrderTracker(ManualClock())
    order = make_order_in(OrderStatus.PARTIALLY_FILLED)  # 0.5 filled by trade T-1, venue id V-1

    tracker.track(order)

    assert tracker.on_execution_report(execution_report(i="V-1")) == []  # no new acknowledgement
    tracked = tracker.get(COID)
    assert tracked is not None
    assert tracked.booked == Decimal("0.5")
    assert tracker.by_venue_id("BTCUSDT", "V-1") is tracked


def test_an_adopted_reconciliation_answer_is_not_reported_again() -> None:
    tracker = OrderTracker(ManualClock())
    state = parse_order(order_answer(status="PARTIALLY_FILLED", executedQty="0.4"))
    fill = fill_of_trade(my_trade(1, "0.4"), client_order_id="O-1", instrument_id=BTCUSDT, fallback_ns=0)
    view = venue_order(state, (fill,), instrument_id=BTCUSDT, fallback_ns=0)

    tracker.adopt(view)

    assert tracker.on_execution_report(trade_report(1, "0.4", "0.4")) == []
    assert _kinds(tracker.on_execution_report(trade_report(2, "0.6", "1", status="FILLED"))) == [
        "OrderFilled"
    ]


def test_balances_are_totals_and_a_repeat_is_dropped() -> None:
    tracker = _tracker()
    event = {
        "e": "outboundAccountPosition",
        "E": T0_MS,
        "u": T0_MS - 1,
        "B": [{"a": "BTC", "f": "1.5", "l": "0.5"}, {"a": "USDT", "f": "100", "l": "0"}],
    }

    reported = tracker.on_balances(event)

    assert reported == BalancesReported(
        balances={"BTC": Decimal("2.0"), "USDT": Decimal("100")}, ts_event=(T0_MS - 1) * 1_000_000
    )
    assert tracker.on_balances(dict(event)) is None


# -- every path, any order, any repeat: each fill once, one close, after the fills ---------------

SPLITS = st.lists(st.integers(1, 5), min_size=1, max_size=5)


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[list[tuple[str, Any]], list[int], int, str]:
    """The venue's story of one order (fills of the given lots, then a close), told by the
    stream, a query answer and the trades query, shuffled and with repeats."""
    lots = draw(SPLITS)
    total = sum(lots)
    quantity = total + draw(st.integers(0, 3))
    close = "FILLED" if quantity == total else draw(st.sampled_from(["CANCELED", "EXPIRED"]))
    items: list[tuple[str, Any]] = [("stream", execution_report(q=str(quantity)))]
    cumulative = 0
    for n, lot in enumerate(lots, start=1):
        cumulative += lot
        status = "FILLED" if cumulative == quantity else "PARTIALLY_FILLED"
        items.append(("stream", trade_report(n, str(lot), str(cumulative), status=status, q=str(quantity))))
    if close != "FILLED":
        items.append(("stream", execution_report(x=close, X=close, z=str(total), I=999, q=str(quantity))))
    items.append(("query", order_answer(status=close, executedQty=str(total), origQty=str(quantity))))
    items.append(("trades", [my_trade(n, str(lot)) for n, lot in enumerate(lots, start=1)]))
    items += draw(st.lists(st.sampled_from(items), max_size=4))
    return draw(st.permutations(items)), lots, quantity, close


@given(_scenario())
def test_any_interleaving_books_each_fill_once_and_closes_once_after_them(
    scenario: tuple[list[tuple[str, Any]], list[int], int, str],
) -> None:
    items, lots, quantity, close = scenario
    tracker = OrderTracker(ManualClock(T0_MS * 1_000_000))
    tracker.track(make_order(quantity=str(quantity), price="100"))

    published: list[object] = []
    for kind, payload in items:
        if kind == "stream":
            published += tracker.on_execution_report(payload)
        elif kind == "query":
            published += tracker.on_order(parse_order(payload))
        else:
            published += tracker.on_trades("BTCUSDT", payload)

    fills = [r.fill for r in published if isinstance(r, OrderFilled)]
    assert sorted(int(f.trade_id) for f in fills) == list(range(1, len(lots) + 1))
    assert sum(f.quantity for f in fills) == sum(lots)
    closes = [r for r in published if isinstance(r, OrderCanceled | OrderExpired | OrderRejected)]
    assert len(closes) == (0 if close == "FILLED" else 1)
    accepted = [i for i, r in enumerate(published) if isinstance(r, OrderAccepted)]
    assert len(accepted) == 1
    assert accepted[0] == 0
    if closes:
        assert published[-1] is closes[0]
    assert tracker.get(COID).final  # type: ignore[union-attr]
    assert tracker.needs_trades == set()


def _position(u: int, btc: str) -> dict[str, Any]:
    return {"e": "outboundAccountPosition", "E": T0_MS, "u": u, "B": [{"a": "BTC", "f": btc, "l": "0"}]}


def test_two_account_updates_in_the_same_millisecond_are_both_reported() -> None:
    tracker = _tracker()

    first = tracker.on_balances(_position(T0_MS, "1.5"))
    second = tracker.on_balances(_position(T0_MS, "1.6"))

    assert first is not None
    assert second is not None
    assert second.balances == {"BTC": Decimal("1.6")}


def test_account_updates_wait_for_the_stream_to_bring_a_fill_an_answer_booked() -> None:
    clock = ManualClock(T0_MS * 1_000_000)
    tracker = OrderTracker(clock, stale_hold_ns=5_000_000_000)
    order = make_order(quantity="1", price="100")
    tracker.track(order)
    answer = order_answer(
        status="FILLED",
        executedQty="1",
        fills=[{"price": "100", "qty": "1", "commission": "0.001", "commissionAsset": "BNB", "tradeId": 1}],
    )
    state = parse_order(answer)
    tracker.on_order(state, fills_of_response(answer, state, BTCUSDT, 0))

    before_the_fill = tracker.on_balances(_position(T0_MS, "1.0"))  # the stream has not caught up
    tracker.on_execution_report(trade_report(1, "1", "1", status="FILLED"))
    after_the_fill = tracker.on_balances(_position(T0_MS + 1, "2.0"))

    assert before_the_fill is None
    assert tracker.stats.stale_balances == 1
    assert after_the_fill is not None
    assert after_the_fill.balances == {"BTC": Decimal("2.0")}


def test_account_updates_are_held_back_only_for_a_while() -> None:
    clock = ManualClock(T0_MS * 1_000_000)
    tracker = OrderTracker(clock, stale_hold_ns=5_000_000_000)
    tracker.track(make_order(quantity="1", price="100"))
    answer = order_answer(
        status="FILLED",
        executedQty="1",
        fills=[{"price": "100", "qty": "1", "commission": "0", "commissionAsset": "USDT", "tradeId": 1}],
    )
    state = parse_order(answer)
    tracker.on_order(state, fills_of_response(answer, state, BTCUSDT, 0))

    assert tracker.on_balances(_position(T0_MS, "1.0")) is None
    clock.advance(5_000_000_000)  # the stream never brought it (a drop): stop waiting for it
    assert tracker.on_balances(_position(T0_MS + 1, "2.0")) is not None
