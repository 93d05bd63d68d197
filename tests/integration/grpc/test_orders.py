"""OrderService over a real server: submit (idempotent), cancel, look up, list, page, stream."""

from __future__ import annotations

import grpc
from tradeplane.v1 import common_pb2, orders_pb2

from tests.integration.grpc.support import (
    BTC,
    CALL_TIMEOUT_S,
    ETH,
    LIMIT,
    SELL,
    TRADER,
    VIEWER,
    Env,
    next_message,
    refused,
    subscribed,
    trade,
)

FILLED = common_pb2.ORDER_STATUS_FILLED
ACCEPTED = common_pb2.ORDER_STATUS_ACCEPTED
CANCELED = common_pb2.ORDER_STATUS_CANCELED


async def get_order(env: Env, **oneof: str) -> orders_pb2.Order:
    response = await env.stub.orders.GetOrder(
        orders_pb2.GetOrderRequest(**oneof), metadata=VIEWER, timeout=CALL_TIMEOUT_S
    )
    return response.order


async def list_orders(env: Env, **filters: object) -> orders_pb2.ListOrdersResponse:
    response: orders_pb2.ListOrdersResponse = await env.stub.orders.ListOrders(
        orders_pb2.ListOrdersRequest(**filters), metadata=VIEWER, timeout=CALL_TIMEOUT_S
    )
    return response


async def list_fills(env: Env, **filters: object) -> orders_pb2.ListFillsResponse:
    response: orders_pb2.ListFillsResponse = await env.stub.orders.ListFills(
        orders_pb2.ListFillsRequest(**filters), metadata=VIEWER, timeout=CALL_TIMEOUT_S
    )
    return response


async def test_a_market_buy_fills_at_the_best_ask_with_exact_decimals(env: Env) -> None:
    response = await env.submit("mkt-1", quantity="0.01")

    order = response.order
    assert not response.duplicate
    assert (order.client_order_id, order.instrument_id) == ("mkt-1", BTC)
    assert (order.side, order.type, order.time_in_force) == (
        common_pb2.SIDE_BUY,
        common_pb2.ORDER_TYPE_MARKET,
        common_pb2.TIME_IN_FORCE_GTC,
    )
    assert order.status == FILLED
    assert (order.quantity, order.filled_quantity, order.leaves_quantity) == ("0.01", "0.01", "0")
    assert order.avg_fill_price == "30000.5"
    assert (order.price, order.stop_price) == ("", "")
    assert order.venue_order_id == "PAPER-1"
    assert order.strategy_id == "manual"
    assert order.create_time.seconds > 0
    assert order.update_time.ToNanoseconds() >= order.create_time.ToNanoseconds()
    # The same order through GetOrder, by either id.
    assert await get_order(env, client_order_id="mkt-1") == order
    assert await get_order(env, venue_order_id="PAPER-1") == order
    fills = (await list_fills(env, client_order_id="mkt-1")).fills
    assert len(fills) == 1
    fill = fills[0]
    assert (fill.client_order_id, fill.venue_order_id, fill.instrument_id) == ("mkt-1", "PAPER-1", BTC)
    assert (fill.quantity, fill.price) == ("0.01", "30000.5")
    assert fill.fee == "0.1500025"  # 0.01 × 30000.50 × 5 bps, exactly
    assert fill.liquidity == common_pb2.LIQUIDITY_SIDE_TAKER
    assert (fill.side, fill.strategy_id, fill.trade_id) == (common_pb2.SIDE_BUY, "manual", "PAPER-T1")


async def test_a_market_sell_walks_the_book_one_fill_per_level(env: Env) -> None:
    order = (await env.submit("walk", side=SELL, quantity="2")).order

    assert order.status == FILLED
    assert order.filled_quantity == order.quantity == "2"  # 1.5 + 0.5, written plainly
    assert order.avg_fill_price == "29999.375"  # (1.5 × 29999.50 + 0.5 × 29999.00) / 2
    fills = (await list_fills(env, client_order_id="walk")).fills
    assert sorted((f.quantity, f.price) for f in fills) == [("0.5", "29999"), ("1.5", "29999.5")]


async def test_a_limit_order_below_the_book_rests_until_canceled(env: Env) -> None:
    order = (await env.submit("lmt-1", order_type=LIMIT, price="29990.00", quantity="0.5")).order

    assert order.status == ACCEPTED
    assert order.type == common_pb2.ORDER_TYPE_LIMIT
    assert (order.price, order.quantity, order.filled_quantity, order.leaves_quantity) == (
        "29990",
        "0.5",
        "0",
        "0.5",
    )
    assert order.avg_fill_price == ""
    assert order.venue_order_id
    assert env.app.orders.open_orders.keys() == {"lmt-1"}


async def test_submitting_the_same_client_order_id_twice_is_one_order(env: Env) -> None:
    first = await env.submit("idem-1", quantity="0.02")
    again = await env.submit("idem-1", quantity="0.020")  # the same quantity, written differently

    assert not first.duplicate
    assert again.duplicate
    assert again.order == first.order
    assert env.app.orders.stats.orders_submitted == 1
    listed = await list_orders(env)
    assert [o.client_order_id for o in listed.orders] == ["idem-1"]
    assert len((await list_fills(env)).fills) == 1  # filled once, not twice
    # And for a resting order: the second call sends nothing either.
    resting = await env.rest("idem-2")
    again = await env.submit("idem-2", order_type=LIMIT, price="29990.00")
    assert again.duplicate
    assert again.order.venue_order_id == resting.venue_order_id
    assert env.app.orders.stats.orders_submitted == 2


async def test_the_same_client_order_id_with_other_fields_is_already_exists(env: Env) -> None:
    await env.submit("reused", quantity="0.01")

    for changed, field in (
        ({"quantity": "0.02"}, "quantity"),
        ({"side": SELL}, "side"),
        ({"order_type": LIMIT, "price": "29990.00"}, "type, price"),
        ({"instrument_id": ETH}, "instrument_id"),
        ({"strategy_id": "desk-2"}, "strategy_id"),
    ):
        refusal = await refused(env.submit("reused", **changed))
        assert refusal.code == grpc.StatusCode.ALREADY_EXISTS, refusal
        assert "'reused' is already used by a different order" in refusal.message
        assert f"(differs in {field})" in refusal.message
        assert refusal.fields == ("client_order_id",)
        assert refusal.reason == "CLIENT_ORDER_ID_REUSED"
    assert env.order_count() == 1


async def test_an_order_the_venue_rejects_says_why(env: Env) -> None:
    response = await env.submit("no-data", instrument_id=ETH)  # ETH has a last trade, no quote nor book

    order = response.order
    assert order.status == common_pb2.ORDER_STATUS_REJECTED
    assert order.reason == f"no market data for {ETH} (no order book or quote received, no quote)"
    assert (order.filled_quantity, order.leaves_quantity, order.venue_order_id) == ("0", "0", "")
    assert (await get_order(env, client_order_id="no-data")) == order
    # Retrying with the same id returns the rejected order: nothing is sent again.
    again = await env.submit("no-data", instrument_id=ETH)
    assert again.duplicate
    assert again.order == order
    assert env.app.orders.stats.orders_submitted == 1


async def test_cancel_by_client_order_id_and_by_venue_order_id(env: Env) -> None:
    first = await env.rest("c-1")
    second = await env.rest("c-2", price="29980.00")

    by_client = await env.stub.orders.CancelOrder(
        orders_pb2.CancelOrderRequest(client_order_id="c-1"), metadata=TRADER, timeout=CALL_TIMEOUT_S
    )
    by_venue = await env.stub.orders.CancelOrder(
        orders_pb2.CancelOrderRequest(venue_order_id=second.venue_order_id),
        metadata=TRADER,
        timeout=CALL_TIMEOUT_S,
    )

    assert by_client.order.client_order_id == "c-1"
    assert by_venue.order.client_order_id == "c-2"
    for canceled, original in ((by_client.order, first), (by_venue.order, second)):
        assert canceled.status == CANCELED
        assert canceled.reason == "canceled on request"
        assert canceled.leaves_quantity == "0"
        assert canceled.venue_order_id == original.venue_order_id
    assert not env.app.orders.open_orders
    assert (await get_order(env, client_order_id="c-1")).status == CANCELED
    # Canceling again is refused: the order is closed.
    refusal = await refused(
        env.stub.orders.CancelOrder(
            orders_pb2.CancelOrderRequest(client_order_id="c-1"), metadata=TRADER, timeout=CALL_TIMEOUT_S
        )
    )
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refusal.message == "order c-1 is already CANCELED; nothing to cancel"
    assert refusal.preconditions == (("ORDER_CLOSED", "order is CANCELED"),)


async def test_cancel_all_orders_of_one_instrument_then_of_all(env: Env) -> None:
    await env.rest("b-1")
    await env.rest("b-2", price="29980.00")
    await env.submit("e-1", order_type=LIMIT, price="1990.00", quantity="0.1", instrument_id=ETH)
    await env.submit("filled", quantity="0.01")  # closed: never asked to cancel

    only_eth = await env.stub.orders.CancelAllOrders(
        orders_pb2.CancelAllOrdersRequest(instrument_id=ETH), metadata=TRADER, timeout=CALL_TIMEOUT_S
    )
    assert [(o.client_order_id, o.status) for o in only_eth.orders] == [("e-1", CANCELED)]
    assert set(env.app.orders.open_orders) == {"b-1", "b-2"}

    rest = await env.stub.orders.CancelAllOrders(
        orders_pb2.CancelAllOrdersRequest(), metadata=TRADER, timeout=CALL_TIMEOUT_S
    )
    assert sorted(o.client_order_id for o in rest.orders) == ["b-1", "b-2"]
    assert {o.status for o in rest.orders} == {CANCELED}
    assert not (await list_orders(env, open_only=True)).orders
    nothing = await env.stub.orders.CancelAllOrders(
        orders_pb2.CancelAllOrdersRequest(), metadata=TRADER, timeout=CALL_TIMEOUT_S
    )
    assert not nothing.orders


async def test_get_order_of_an_unknown_id_is_not_found(env: Env) -> None:
    for oneof in ({"client_order_id": "nope"}, {"venue_order_id": "PAPER-999"}):
        refusal = await refused(
            env.stub.orders.GetOrder(
                orders_pb2.GetOrderRequest(**oneof), metadata=VIEWER, timeout=CALL_TIMEOUT_S
            )
        )
        assert refusal.code == grpc.StatusCode.NOT_FOUND, refusal
        assert "nope" in refusal.message or "PAPER-999" in refusal.message


async def test_list_orders_filters(env: Env) -> None:
    await env.rest("open-btc")
    await env.submit("filled-btc", quantity="0.01")
    await env.submit("open-eth", order_type=LIMIT, price="1990.00", quantity="0.1", instrument_id=ETH)
    await env.submit("other-strategy", quantity="0.01", strategy_id="desk-2")

    async def ids(**filters: object) -> set[str]:
        return {o.client_order_id for o in (await list_orders(env, **filters)).orders}

    assert await ids() == {"open-btc", "filled-btc", "open-eth", "other-strategy"}
    assert await ids(instrument_id=ETH) == {"open-eth"}
    assert await ids(instrument_id=BTC) == {"open-btc", "filled-btc", "other-strategy"}
    assert await ids(status=FILLED) == {"filled-btc", "other-strategy"}
    assert await ids(status=ACCEPTED, instrument_id=BTC) == {"open-btc"}
    assert await ids(open_only=True) == {"open-btc", "open-eth"}
    assert await ids(strategy_id="desk-2") == {"other-strategy"}
    assert await ids(strategy_id="manual", open_only=True, instrument_id=ETH) == {"open-eth"}
    assert await ids(instrument_id="SOLUSDT.BINANCE") == set()  # well formed, no orders


async def test_list_orders_pages_through_every_order_once_newest_first(env: Env) -> None:
    submitted = [f"p-{i:02d}" for i in range(23)]
    for client_order_id in submitted:
        await env.rest(client_order_id, price="29900.00", quantity="0.001")
    await env.submit("p-filled", quantity="0.001")

    seen: list[orders_pb2.Order] = []
    sizes = []
    token = ""
    for _ in range(10):  # 23 orders in pages of 7: 4 pages
        page = await list_orders(env, page_size=7, page_token=token, open_only=True)
        seen += page.orders
        sizes.append(len(page.orders))
        token = page.next_page_token
        if not token:
            break
    assert sizes == [7, 7, 7, 2]
    ids = [o.client_order_id for o in seen]
    assert len(ids) == len(set(ids)), "an order was listed twice"
    assert set(ids) == set(submitted), "an order was missed"
    keys = [(o.create_time.ToNanoseconds(), o.client_order_id) for o in seen]
    assert keys == sorted(keys, reverse=True), "not newest first"
    # Without the filter, the default page (100) holds them all and there is no next page.
    everything = await list_orders(env)
    assert len(everything.orders) == 24
    assert everything.next_page_token == ""
    assert everything.orders[0].client_order_id == "p-filled"


async def test_list_fills_filters_and_pages(env: Env) -> None:
    await env.submit("walk", side=SELL, quantity="2")  # two fills: two bid levels
    await env.submit("small", quantity="0.01")  # one fill
    await env.submit("eth", quantity="0.01", instrument_id=ETH, order_type=LIMIT, price="1990.00")  # rests

    all_fills = (await list_fills(env)).fills
    assert len(all_fills) == 3
    assert all_fills[0].client_order_id == "small"  # newest first
    assert {f.trade_id for f in (await list_fills(env, client_order_id="walk")).fills} == {
        "PAPER-T1",
        "PAPER-T2",
    }
    assert len((await list_fills(env, instrument_id=BTC)).fills) == 3
    assert not (await list_fills(env, instrument_id=ETH)).fills
    assert len((await list_fills(env, strategy_id="manual")).fills) == 3
    assert not (await list_fills(env, strategy_id="other")).fills
    # Pages of one: every fill exactly once, even the two with the same time.
    paged: list[str] = []
    token = ""
    for _ in range(5):
        page = await list_fills(env, page_size=1, page_token=token)
        paged += [f.trade_id for f in page.fills]
        token = page.next_page_token
        if not token:
            break
    assert paged == [f.trade_id for f in all_fills]


async def test_stream_order_events_sees_every_state_of_a_submitted_order_and_its_fill(env: Env) -> None:
    stream = env.stub.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=VIEWER)
    await subscribed(env, "order_events")

    await env.submit("streamed", quantity="0.01")
    events = [(await next_message(stream)).event for _ in range(4)]

    assert [e.status for e in events] == [
        common_pb2.ORDER_STATUS_INITIALIZED,
        common_pb2.ORDER_STATUS_SUBMITTED,
        ACCEPTED,
        FILLED,
    ]
    assert {(e.client_order_id, e.instrument_id, e.strategy_id) for e in events} == {
        ("streamed", BTC, "manual")
    }
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert [e.venue_order_id for e in events] == ["", "", "PAPER-1", "PAPER-1"]
    assert not any(e.HasField("fill") for e in events[:3])
    fill = events[3].fill
    assert (fill.trade_id, fill.client_order_id, fill.quantity, fill.price, fill.fee) == (
        "PAPER-T1",
        "streamed",
        "0.01",
        "30000.5",
        "0.1500025",
    )
    assert fill.liquidity == common_pb2.LIQUIDITY_SIDE_TAKER
    # A cancel is streamed too: CANCEL_PENDING then CANCELED with its reason.
    await env.rest("resting")
    statuses = [(await next_message(stream)).event.status for _ in range(3)]
    assert statuses == [common_pb2.ORDER_STATUS_INITIALIZED, common_pb2.ORDER_STATUS_SUBMITTED, ACCEPTED]
    await env.stub.orders.CancelOrder(
        orders_pb2.CancelOrderRequest(client_order_id="resting"), metadata=TRADER, timeout=CALL_TIMEOUT_S
    )
    pending, canceled = (await next_message(stream)).event, (await next_message(stream)).event
    assert (pending.status, canceled.status) == (common_pb2.ORDER_STATUS_CANCEL_PENDING, CANCELED)
    assert canceled.reason == "canceled on request"
    assert canceled.sequence == 9
    stream.cancel()


async def test_stream_order_events_filters_by_instrument_and_strategy(env: Env) -> None:
    eth_only = env.stub.orders.StreamOrderEvents(
        orders_pb2.StreamOrderEventsRequest(instrument_id=ETH), metadata=VIEWER
    )
    desk_only = env.stub.orders.StreamOrderEvents(
        orders_pb2.StreamOrderEventsRequest(strategy_id="desk-2"), metadata=VIEWER
    )
    await subscribed(env, "order_events", 2)

    await env.submit("btc-manual", quantity="0.01")
    await env.submit("eth-manual", quantity="0.01", instrument_id=ETH, order_type=LIMIT, price="1990.00")
    await env.submit("btc-desk", quantity="0.01", strategy_id="desk-2")

    eth_event = (await next_message(eth_only)).event
    desk_event = (await next_message(desk_only)).event
    assert (eth_event.client_order_id, eth_event.instrument_id) == ("eth-manual", ETH)
    assert (desk_event.client_order_id, desk_event.strategy_id) == ("btc-desk", "desk-2")
    eth_only.cancel()
    desk_only.cancel()


async def test_a_post_only_limit_below_the_book_rests_and_says_it_is_post_only(env: Env) -> None:
    order = await env.rest("po-rest", post_only=True)

    assert order.post_only
    assert (await get_order(env, client_order_id="po-rest")).post_only
    assert not (await env.rest("plain-rest")).post_only


async def test_a_post_only_limit_that_would_take_is_rejected_by_the_venue(env: Env) -> None:
    order = (await env.submit("po-take", order_type=LIMIT, price="30000.50", post_only=True)).order

    assert order.status == common_pb2.ORDER_STATUS_REJECTED
    assert order.reason == "post-only order would take liquidity"
    assert order.post_only
    assert (await list_fills(env, client_order_id="po-take")).fills == []


async def test_a_resting_post_only_order_fills_as_maker_with_its_fee_asset(env: Env) -> None:
    await env.rest("po-fill", post_only=True, quantity="0.01")

    env.publish(trade("29989.00", "through-po", size="1"))

    fills = (await list_fills(env, client_order_id="po-fill")).fills
    assert [(f.quantity, f.price, f.liquidity) for f in fills] == [
        ("0.01", "29990", common_pb2.LIQUIDITY_SIDE_MAKER)
    ]
    assert fills[0].fee == "0.05998"  # 0.01 × 29990 × 2 bps
    assert fills[0].fee_asset == ""  # the paper venue charges in the quote currency


async def test_the_same_client_order_id_with_another_post_only_flag_is_already_exists(env: Env) -> None:
    await env.rest("po-reused")

    refusal = await refused(env.submit("po-reused", order_type=LIMIT, price="29990.00", post_only=True))

    assert refusal.code == grpc.StatusCode.ALREADY_EXISTS
    assert "(differs in post_only)" in refusal.message
