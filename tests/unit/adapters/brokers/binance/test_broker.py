"""BinanceBroker against a scripted venue: each rule of the module docstring, one test each.

The venue (``fake_venue``) verifies every signature and serves the WebSocket API on 127.0.0.1;
each test runs under ``asyncio.wait_for`` and stops its server itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.brokers.binance.broker import NO_RECORD, BinanceBroker
from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import BinanceBrokerError
from adapters.brokers.binance.signing import HmacSigner
from adapters.system_clock import LiveClock
from application.messages import (
    BalancesReported,
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    VenueOrder,
)
from application.ports import ConnectedBroker, ReconcilableBroker
from domain.identifiers import ClientOrderId
from domain.orders import Order, OrderStatus, OrderType
from tests.builders import BTCUSDT, make_instrument, make_order
from tests.unit.adapters.brokers.binance.fake_venue import FakeVenue, LostAfterExecution, error
from tests.unit.adapters.brokers.binance.payloads import API_KEY, SECRET

TEST_TIMEOUT = 10.0


def _broker(venue: FakeVenue, published: list[object], **settings: Any) -> BinanceBroker:
    options: dict[str, Any] = {
        "rest_url": "http://venue.test",
        "ws_api_url": venue.ws_url or "ws://127.0.0.1:9/ws-api/v3",
        "request_timeout_s": 2.0,
        "unknown_outcome_retry_s": 0.02,
        "unknown_outcome_max_delay_s": 0.1,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "disconnect_timeout_s": 2.0,
        "use_system_proxy": False,
    }
    options.update(settings)
    return BinanceBroker(
        BinanceBrokerConfig(**options),
        ApiCredentials(API_KEY, HmacSigner(SECRET)),
        publish=published.append,
        instruments={BTCUSDT: make_instrument()},
        clock=LiveClock(),
        transport=venue.transport(),
        async_transport=venue.transport(),
    )


def _sent(coid: str = "O-1", **overrides: Any) -> Order:
    """An order as the OMS hands it to the broker: SUBMITTED."""
    options: dict[str, Any] = {"quantity": "0.5", "price": "100"} | overrides
    order = make_order(client_order_id=coid, **options)
    order.submit(time.time_ns())
    return order


async def _until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def _run(scenario: Callable[[FakeVenue], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        async with FakeVenue().running() as venue:
            await scenario(venue)

    asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))


async def _connected(venue: FakeVenue, published: list[object], **settings: Any) -> BinanceBroker:
    broker = _broker(venue, published, **settings)
    await asyncio.to_thread(broker.start_session)
    await broker.connect()
    return broker


def _of(published: list[object], kind: type) -> list[Any]:
    return [report for report in published if isinstance(report, kind)]


# -- the session -------------------------------------------------------------------------------


def test_the_session_reads_clock_filters_account_and_commissions() -> None:
    venue = FakeVenue(skew_ms=1500)
    broker = _broker(venue, [])

    broker.start_session()

    assert broker.account_label() == "uid 4242 (SPOT), key vmPU…h8A"
    assert broker.rules["BTCUSDT"].lot.step == Decimal("0.00001")
    assert broker.commission_rates["BTCUSDT"] == (Decimal("0.001"), Decimal("0.002"))
    assert abs(broker.health().clock_offset_ms - 1500) < 200
    assert broker.balances() == {"BTC": Decimal("2.0"), "USDT": Decimal("1000")}
    reconcilable: ReconcilableBroker = broker  # the ports, checked by the type checker
    connected: ConnectedBroker = broker
    assert isinstance(connected, ConnectedBroker)
    assert reconcilable.name == "binance"
    assert broker.name == "binance"
    assert broker.supports_stop_orders


def test_a_refused_key_is_a_clear_error_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    venue = FakeVenue()
    venue.next("GET", "/api/v3/account", error(401, -2015, "Invalid API-key, IP, or permissions for action."))
    broker = _broker(venue, [])

    with pytest.raises(BinanceBrokerError, match="refused the API key vmPU…h8A") as raised:
        broker.start_session()

    shown = str(raised.value) + caplog.text + repr(broker.health())
    assert "-2015" in str(raised.value)
    assert SECRET not in shown
    assert API_KEY not in shown


def test_an_unreachable_venue_is_named() -> None:
    venue = FakeVenue()
    venue.next("GET", "/api/v3/time", httpx.ConnectError("connection refused"))

    with pytest.raises(BinanceBrokerError, match=r"cannot reach the venue at http://venue\.test"):
        _broker(venue, []).start_session()


def test_an_account_that_cannot_trade_is_refused() -> None:
    venue = FakeVenue(can_trade=False)

    with pytest.raises(BinanceBrokerError, match="cannot trade"):
        _broker(venue, []).start_session()


# -- placing ---------------------------------------------------------------------------------


def test_an_order_is_placed_acknowledged_and_filled_each_report_once() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        order = _sent()

        broker.submit(order)
        await _until(lambda: bool(_of(published, OrderAccepted)))
        venue.fill("O-1", "0.2")
        venue.fill("O-1", "0.3")
        await _until(lambda: len(_of(published, OrderFilled)) == 2)
        await asyncio.sleep(0.1)  # the stream's copy of the acknowledgement has arrived too

        params = venue.asked("POST", "/api/v3/order")[0]
        assert params["newClientOrderId"] == "O-1"
        assert (params["type"], params["timeInForce"], params["quantity"], params["price"]) == (
            "LIMIT",
            "GTC",
            "0.5",
            "100",
        )
        assert params["newOrderRespType"] == "FULL"
        assert len(_of(published, OrderAccepted)) == 1
        fills = [report.fill for report in _of(published, OrderFilled)]
        assert [f.quantity for f in fills] == [Decimal("0.2"), Decimal("0.3")]
        assert all(f.fee_asset == "BNB" and f.venue_order_id == "7" for f in fills)
        assert not broker.busy(order.client_order_id)
        await broker.disconnect()

    _run(scenario)


def test_an_order_breaking_a_filter_is_rejected_without_a_request() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)

        broker.submit(_sent(price="100.001"))
        await _until(lambda: bool(published))

        assert published == [
            OrderRejected(
                client_order_id=ClientOrderId("O-1"),
                reason="PRICE_FILTER: price 100.001 is not a multiple of tickSize 0.01",
                ts_event=published[0].ts_event,  # type: ignore[attr-defined]
            )
        ]
        assert venue.asked("POST", "/api/v3/order") == []
        await broker.disconnect()

    _run(scenario)


def test_a_definite_refusal_is_the_rejection_with_the_venue_reason() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        venue.next(
            "POST",
            "/api/v3/order",
            error(400, -2010, "Account has insufficient balance for requested action."),
        )

        broker.submit(_sent())
        await _until(lambda: bool(_of(published, OrderRejected)))

        assert _of(published, OrderRejected)[0].reason == (
            "venue refused (-2010): Account has insufficient balance for requested action."
        )
        await broker.disconnect()

    _run(scenario)


@pytest.mark.parametrize(
    "failure",
    [
        LostAfterExecution(),
        error(503, -1008, "Service unavailable"),
        error(408, -1007, "Timeout waiting for response"),
    ],
    ids=["timeout", "5xx", "-1007"],
)
def test_an_unknown_outcome_is_settled_by_asking_the_venue(failure: Any) -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        if isinstance(failure, httpx.Response):  # the venue placed it and then failed to say so

            def placed_then_failed(request: httpx.Request) -> httpx.Response:
                venue.place_silently("O-1", quantity="0.5")
                return failure

            venue.next("POST", "/api/v3/order", placed_then_failed)
        else:
            venue.next("POST", "/api/v3/order", failure)
        venue.subscriptions.clear()  # the stream will not tell: only a query can

        broker.submit(_sent())
        await _until(lambda: broker.health().unknown_outcomes == 1)
        assert not _of(published, OrderRejected)
        assert broker.busy(ClientOrderId("O-1"))
        await _until(lambda: bool(_of(published, OrderAccepted)))

        assert not _of(published, OrderRejected)
        assert venue.asked("GET", "/api/v3/order")[0]["origClientOrderId"] == "O-1"
        await _until(lambda: broker.health().unknown_outcomes == 0)
        assert broker.unknown_outcomes_total == 1
        await broker.disconnect()

    _run(scenario)


def test_no_record_of_an_order_is_final_only_once_it_can_no_longer_be_executed() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published, recv_window_ms=400, no_record_margin_ms=200)
        venue.next("POST", "/api/v3/order", httpx.ReadTimeout("timed out"))  # never reached the venue
        started = time.monotonic()

        broker.submit(_sent())
        await _until(lambda: bool(_of(published, OrderRejected)))

        assert time.monotonic() - started >= 0.6  # recvWindow + margin
        assert len(venue.asked("GET", "/api/v3/order")) >= 2  # asked, "no such order", asked again
        assert _of(published, OrderRejected)[0].reason == NO_RECORD
        assert "no record of it" in NO_RECORD
        await broker.disconnect()

    _run(scenario)


def test_a_clock_skew_is_resynced_and_the_request_sent_once_more() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        venue.skew_ms = 30_000  # the venue's clock jumps: our timestamps are now stale

        broker.submit(_sent())
        await _until(lambda: bool(_of(published, OrderAccepted)))

        assert len(venue.asked("POST", "/api/v3/order")) == 2
        assert abs(broker.health().clock_offset_ms - 30_000) < 500
        await broker.disconnect()

    _run(scenario)


def test_a_second_clock_skew_is_a_rejection() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        skew = error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        venue.next("POST", "/api/v3/order", skew, skew)

        broker.submit(_sent())
        await _until(lambda: bool(_of(published, OrderRejected)))

        assert _of(published, OrderRejected)[0].reason.startswith("venue refused (-1021)")
        await broker.disconnect()

    _run(scenario)


def test_a_rate_limit_is_obeyed_orders_refused_until_it_lifts_and_cancels_wait() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        resting = _sent("O-0")
        broker.submit(resting)
        await _until(lambda: bool(_of(published, OrderAccepted)))
        venue.next("POST", "/api/v3/order", error(429, -1003, "Too many requests.", **{"Retry-After": "1"}))

        broker.submit(_sent("O-1"))
        await _until(lambda: len(_of(published, OrderRejected)) == 1)
        broker.submit(_sent("O-2"))  # while blocked: refused at once, not sent
        resting.request_cancel(time.time_ns())
        broker.cancel(resting)  # waits for the block to lift
        await _until(lambda: len(_of(published, OrderRejected)) == 2)

        first, second = _of(published, OrderRejected)
        assert first.reason.startswith("venue refused (-1003): Too many requests.; the venue's rate limit")
        assert "until" in second.reason
        assert "rate limit" in second.reason
        assert [p["newClientOrderId"] for p in venue.asked("POST", "/api/v3/order")] == ["O-0", "O-1"]
        assert broker.health().rate_limited == 1
        assert broker.health().blocked_until_ns > 0
        assert venue.asked("DELETE", "/api/v3/order") == []
        await _until(lambda: bool(_of(published, OrderCanceled)), timeout=3)
        assert broker.health().blocked_until_ns == 0
        await broker.disconnect()

    _run(scenario)


# -- canceling -------------------------------------------------------------------------------


def test_a_cancel_is_confirmed_once() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        order = _sent()
        broker.submit(order)
        order.request_cancel(time.time_ns())
        broker.cancel(order)  # right behind the submission: it waits for its answer

        await _until(lambda: bool(_of(published, OrderCanceled)))
        await asyncio.sleep(0.1)

        assert len(_of(published, OrderCanceled)) == 1
        assert venue.asked("DELETE", "/api/v3/order")[0]["origClientOrderId"] == "O-1"
        await broker.disconnect()

    _run(scenario)


def test_a_refused_cancel_is_reported_then_settled_by_the_order_status() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        order = _sent()
        broker.submit(order)
        await _until(lambda: bool(_of(published, OrderAccepted)))
        venue.subscriptions.clear()
        venue.fill("O-1", "0.5", announce=False)  # filled, and the stream missed it

        broker.cancel(order)
        await _until(lambda: bool(_of(published, OrderFilled)))

        assert _of(published, CancelRejected)[0].reason == "venue refused (-2011): Unknown order sent."
        assert published.index(_of(published, CancelRejected)[0]) < published.index(
            _of(published, OrderFilled)[0]
        )
        assert _of(published, OrderFilled)[0].fill.quantity == Decimal("0.5")
        await broker.disconnect()

    _run(scenario)


# -- the stream -----------------------------------------------------------------------------


def test_a_dropped_stream_reconnects_and_recovers_a_missed_fill() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        order = _sent()
        broker.submit(order)
        await _until(lambda: bool(_of(published, OrderAccepted)))
        venue.fill("O-1", "0.1")
        await _until(lambda: len(_of(published, OrderFilled)) == 1)

        await venue.drop_streams()
        venue.fill("O-1", "0.4")  # nobody listens: missed
        await _until(lambda: len(_of(published, OrderFilled)) == 2)

        assert broker.health().reconnects == 1
        assert broker.health().connected
        since = venue.asked("GET", "/api/v3/myTrades")
        assert any(p.get("fromId") == "101" for p in since)  # after the last trade booked
        assert [r.fill.trade_id for r in _of(published, OrderFilled)] == ["100", "101"]
        await broker.disconnect()

    _run(scenario)


def test_a_duplicated_event_is_booked_once() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        broker.submit(_sent())
        await _until(lambda: bool(_of(published, OrderAccepted)))
        trade = venue.fill("O-1", "0.2", announce=False)
        event = venue.report(venue.orders["O-1"], "TRADE", trade=trade)

        venue.push(event)
        venue.push(event)
        await _until(lambda: bool(_of(published, OrderFilled)))
        await asyncio.sleep(0.1)

        assert len(_of(published, OrderFilled)) == 1
        await broker.disconnect()

    _run(scenario)


def test_a_refused_subscription_fails_connect_clearly() -> None:
    async def scenario(venue: FakeVenue) -> None:
        broker = _broker(venue, [])
        await asyncio.to_thread(broker.start_session)
        venue.subscribe_answers.append({"status": 401, "error": {"code": -2015, "msg": "Invalid API-key"}})

        with pytest.raises(BinanceBrokerError, match="cannot open the order-update stream") as raised:
            await broker.connect()

        assert SECRET not in str(raised.value)
        assert API_KEY not in str(raised.value)

    _run(scenario)


def test_balances_are_reported_from_the_account_stream() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        update = {"e": "outboundAccountPosition", "E": 1, "u": 2, "B": [{"a": "USDT", "f": "90", "l": "10"}]}

        venue.push(update)
        venue.push(update)
        await _until(lambda: bool(_of(published, BalancesReported)))
        await asyncio.sleep(0.05)

        assert _of(published, BalancesReported) == [
            BalancesReported(balances={"USDT": Decimal("100")}, ts_event=2_000_000)
        ]
        await broker.disconnect()

    _run(scenario)


# -- reconciliation --------------------------------------------------------------------------


def test_query_order_answers_with_fills_and_none_only_for_no_record() -> None:
    venue = FakeVenue()
    broker = _broker(venue, [])
    broker.start_session()
    venue.place_silently("O-1", quantity="1")
    venue.fill("O-1", "0.25", announce=False)

    view = broker.query_order(ClientOrderId("O-1"))

    assert isinstance(view, VenueOrder)
    assert view.status is OrderStatus.PARTIALLY_FILLED
    assert view.venue_order_id == "7"
    assert [(f.trade_id, f.quantity) for f in view.fills] == [("100", Decimal("0.25"))]
    assert broker.query_order(ClientOrderId("O-9")) is None
    assert [o.client_order_id for o in broker.query_open_orders()] == ["O-1"]


def test_query_order_raises_when_the_venue_cannot_answer() -> None:
    venue = FakeVenue()
    broker = _broker(venue, [])
    broker.start_session()
    venue.next("GET", "/api/v3/order", error(503, -1008, "busy"))

    with pytest.raises(BinanceBrokerError, match="could not tell about O-1"):
        broker.query_order(ClientOrderId("O-1"))


def test_venue_view_reads_without_blocking_and_cancels_through_the_broker() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)
        venue.place_silently("EXT-1")
        order = _sent()
        broker.submit(order)
        await _until(lambda: bool(_of(published, OrderAccepted)) and not broker.busy(order.client_order_id))

        view = await broker.venue_view([ClientOrderId("O-1"), ClientOrderId("O-9")])

        answer = view.query_order(ClientOrderId("O-1"))
        assert answer is not None
        assert answer.status is OrderStatus.ACCEPTED
        assert view.query_order(ClientOrderId("O-9")) is None
        assert sorted(o.client_order_id for o in view.query_open_orders()) == ["EXT-1", "O-1"]
        order.request_cancel(time.time_ns())
        view.cancel(order)
        await _until(lambda: bool(_of(published, OrderCanceled)))
        venue.next("GET", "/api/v3/openOrders", httpx.ConnectError("down"))
        with pytest.raises(BinanceBrokerError, match="could not answer"):
            await broker.venue_view([])
        await broker.disconnect()

    _run(scenario)


def test_a_cancel_asked_before_connect_is_sent_once_connected() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = _broker(venue, published)
        await asyncio.to_thread(broker.start_session)
        venue.place_silently("O-1")
        order = make_order(client_order_id="O-1", quantity="1", price="100", order_type=OrderType.LIMIT)
        order.submit(1)
        order.accept("7", 2)
        order.request_cancel(3)

        await asyncio.to_thread(broker.cancel, order)  # startup reconciliation, no loop in that thread
        assert venue.asked("DELETE", "/api/v3/order") == []
        await broker.connect()
        await _until(lambda: bool(_of(published, OrderCanceled)))

        assert len(venue.asked("DELETE", "/api/v3/order")) == 1
        await broker.disconnect()

    _run(scenario)


def test_nothing_secret_in_logs_errors_or_health(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published, recv_window_ms=200, no_record_margin_ms=100)
        venue.next("POST", "/api/v3/order", httpx.ReadTimeout("timed out"), error(500, -1000, "boom"))
        broker.submit(_sent("O-1"))
        broker.submit(_sent("O-2"))
        await _until(lambda: len(_of(published, OrderRejected)) == 2, timeout=8)
        health = repr(broker.health())
        await broker.disconnect()

        signatures = [p["signature"][-16:] for _m, _p, p in venue.requests if "signature" in p]
        signatures += [p["signature"][-16:] for p in venue.ws_requests]
        ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
        shown = "\n".join(ours) + health + repr(published)  # the venue's own server may log its frames
        assert SECRET not in shown
        assert API_KEY not in shown
        assert signatures
        assert not any(signature in shown for signature in signatures)

    _run(scenario)


def test_health_tells_how_the_connection_stands() -> None:
    async def scenario(venue: FakeVenue) -> None:
        broker = await _connected(venue, [])

        health = broker.health()

        assert (health.name, health.environment) == ("binance", "testnet")
        assert health.account == "uid 4242 (SPOT), key vmPU…h8A"
        assert health.connected
        assert health.used_weight > 0
        assert (health.unknown_outcomes, health.rate_limited, health.blocked_until_ns, health.reconnects) == (
            0,
            0,
            0,
            0,
        )
        await broker.disconnect()
        assert not broker.health().connected

    _run(scenario)


def test_an_order_handed_over_from_another_thread_is_sent_from_the_loop() -> None:
    async def scenario(venue: FakeVenue) -> None:
        published: list[object] = []
        broker = await _connected(venue, published)

        await asyncio.to_thread(broker.submit, _sent())
        await _until(lambda: bool(_of(published, OrderAccepted)))

        assert len(venue.asked("POST", "/api/v3/order")) == 1
        await broker.disconnect()

    _run(scenario)
