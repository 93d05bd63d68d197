"""Malformed requests: INVALID_ARGUMENT (or NOT_FOUND / FAILED_PRECONDITION where documented)
naming the field, in the message and in google.rpc.BadRequest; and the engine serves on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from tradeplane.v1 import (
    common_pb2,
    engine_pb2,
    market_data_pb2,
    orders_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from tests.integration.grpc.support import (
    ADMIN,
    BTC,
    CALL_TIMEOUT_S,
    STRATEGY,
    TRADER,
    VIEWER,
    Env,
    Refusal,
    Stubs,
    assert_invalid,
    refused,
    stream_refused,
)

T = CALL_TIMEOUT_S
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def submit(**changes: Any) -> Callable[[Stubs], Any]:
    """SubmitOrder of a valid market buy of 0.01 BTC with ``changes``."""
    fields: dict[str, Any] = {
        "client_order_id": "bad-1",
        "instrument_id": BTC,
        "side": common_pb2.SIDE_BUY,
        "type": common_pb2.ORDER_TYPE_MARKET,
        "quantity": "0.01",
        **changes,
    }
    return lambda s: s.orders.SubmitOrder(orders_pb2.SubmitOrderRequest(**fields), metadata=TRADER, timeout=T)


def limit(**changes: Any) -> Callable[[Stubs], Any]:
    return submit(**{"type": common_pb2.ORDER_TYPE_LIMIT, "price": "29990.00", **changes})


@dataclass(frozen=True)
class Case:
    call: Callable[[Stubs], Any]
    field: str | None  # None: NOT_FOUND, no field
    code: grpc.StatusCode = INVALID
    stream: bool = False


SUBMIT_CASES = {
    # quantity: the wire grammar, then positive, then the instrument's lot size
    "quantity negative": Case(submit(quantity="-1"), "quantity"),
    "quantity zero": Case(submit(quantity="0"), "quantity"),
    "quantity minus zero": Case(submit(quantity="-0.000"), "quantity"),
    "quantity NaN": Case(submit(quantity="NaN"), "quantity"),
    "quantity sNaN": Case(submit(quantity="sNaN"), "quantity"),
    "quantity inf": Case(submit(quantity="inf"), "quantity"),
    "quantity Infinity": Case(submit(quantity="-Infinity"), "quantity"),
    "quantity 1e999": Case(submit(quantity="1e999"), "quantity"),
    "quantity 1e-999": Case(submit(quantity="1e-999"), "quantity"),
    "quantity empty": Case(submit(quantity=""), "quantity"),
    "quantity comma": Case(submit(quantity="1,5"), "quantity"),
    "quantity leading space": Case(submit(quantity=" 1"), "quantity"),
    "quantity trailing newline": Case(submit(quantity="1\n"), "quantity"),
    "quantity underscore": Case(submit(quantity="1_000"), "quantity"),
    "quantity hex": Case(submit(quantity="0x10"), "quantity"),
    "quantity fullwidth digit": Case(submit(quantity="\uff11"), "quantity"),
    "quantity very long": Case(submit(quantity="1" * 100_000), "quantity"),
    "quantity float noise": Case(submit(quantity="0.1000000000000000055511151231257827"), "quantity"),
    "quantity off the lot": Case(submit(quantity="0.0105"), "quantity"),
    # price
    "price off the tick": Case(limit(price="29990.005"), "price"),
    "price on a market order": Case(submit(price="30000.00"), "price"),
    "price missing on a limit": Case(limit(price=""), "price"),
    "price negative": Case(limit(price="-29990.00"), "price"),
    "price NaN": Case(limit(price="NaN"), "price"),
    "stop price on a limit": Case(limit(stop_price="31000.00"), "stop_price"),
    "stop price missing on a stop": Case(submit(type=common_pb2.ORDER_TYPE_STOP_MARKET), "stop_price"),
    "stop price off the tick": Case(
        submit(type=common_pb2.ORDER_TYPE_STOP_MARKET, stop_price="31000.001"), "stop_price"
    ),
    # post-only is for limit orders only
    "post only on a market order": Case(submit(post_only=True), "post_only"),
    "post only on a stop limit": Case(
        submit(
            type=common_pb2.ORDER_TYPE_STOP_LIMIT, price="31000.00", stop_price="31000.00", post_only=True
        ),
        "post_only",
    ),
    # enums
    "side unspecified": Case(submit(side=common_pb2.SIDE_UNSPECIFIED), "side"),
    "side out of range": Case(submit(side=7), "side"),
    "type unspecified": Case(submit(type=common_pb2.ORDER_TYPE_UNSPECIFIED), "type"),
    "type out of range": Case(submit(type=99), "type"),
    "time in force out of range": Case(submit(time_in_force=-1), "time_in_force"),
    # ids
    "instrument missing": Case(submit(instrument_id=""), "instrument_id"),
    "instrument unknown": Case(submit(instrument_id="DOGEUSDT.BINANCE"), "instrument_id"),
    "instrument lower case": Case(submit(instrument_id="btcusdt.binance"), "instrument_id"),
    "instrument without venue": Case(submit(instrument_id="BTCUSDT"), "instrument_id"),
    "instrument with two dots": Case(submit(instrument_id="BTC.USDT.BINANCE"), "instrument_id"),
    "instrument very long": Case(submit(instrument_id="A" * 10_000 + ".BINANCE"), "instrument_id"),
    "client order id too long": Case(submit(client_order_id="x" * 65), "client_order_id"),
    "client order id with a space": Case(submit(client_order_id="my order"), "client_order_id"),
    "client order id with a slash": Case(submit(client_order_id="a/b"), "client_order_id"),
    "client order id not ascii": Case(submit(client_order_id="ordre-\u00e9"), "client_order_id"),
    "strategy id with a space": Case(submit(strategy_id="my strategy"), "strategy_id"),
    "strategy id too long": Case(submit(strategy_id="s" * 65), "strategy_id"),
}

QUERY_CASES = {
    "list orders page size 5000": Case(
        lambda s: s.orders.ListOrders(
            orders_pb2.ListOrdersRequest(page_size=5000), metadata=VIEWER, timeout=T
        ),
        "page_size",
    ),
    "list orders page size negative": Case(
        lambda s: s.orders.ListOrders(orders_pb2.ListOrdersRequest(page_size=-1), metadata=VIEWER, timeout=T),
        "page_size",
    ),
    "list orders garbage page token": Case(
        lambda s: s.orders.ListOrders(
            orders_pb2.ListOrdersRequest(page_token="garbage!!"), metadata=VIEWER, timeout=T
        ),
        "page_token",
    ),
    "list orders page token of another shape": Case(
        lambda s: s.orders.ListOrders(
            orders_pb2.ListOrdersRequest(page_token="YWJj"), metadata=VIEWER, timeout=T
        ),
        "page_token",
    ),
    "list orders page token not ascii": Case(
        lambda s: s.orders.ListOrders(
            orders_pb2.ListOrdersRequest(page_token="\u00e9t\u00e9"), metadata=VIEWER, timeout=T
        ),
        "page_token",
    ),
    "list orders status out of range": Case(
        lambda s: s.orders.ListOrders(orders_pb2.ListOrdersRequest(status=99), metadata=VIEWER, timeout=T),  # type: ignore[arg-type]
        "status",
    ),
    "list orders malformed instrument": Case(
        lambda s: s.orders.ListOrders(
            orders_pb2.ListOrdersRequest(instrument_id="btc"), metadata=VIEWER, timeout=T
        ),
        "instrument_id",
    ),
    "list fills page size 5000": Case(
        lambda s: s.orders.ListFills(orders_pb2.ListFillsRequest(page_size=5000), metadata=VIEWER, timeout=T),
        "page_size",
    ),
    "list fills garbage page token": Case(
        lambda s: s.orders.ListFills(
            orders_pb2.ListFillsRequest(page_token="%%%"), metadata=VIEWER, timeout=T
        ),
        "page_token",
    ),
    "list fills malformed client order id": Case(
        lambda s: s.orders.ListFills(
            orders_pb2.ListFillsRequest(client_order_id="a b"), metadata=VIEWER, timeout=T
        ),
        "client_order_id",
    ),
    "get order without an id": Case(
        lambda s: s.orders.GetOrder(orders_pb2.GetOrderRequest(), metadata=VIEWER, timeout=T), "id"
    ),
    "get order malformed client order id": Case(
        lambda s: s.orders.GetOrder(
            orders_pb2.GetOrderRequest(client_order_id="a b"), metadata=VIEWER, timeout=T
        ),
        "client_order_id",
    ),
    "get order empty venue order id": Case(
        lambda s: s.orders.GetOrder(
            orders_pb2.GetOrderRequest(venue_order_id=""), metadata=VIEWER, timeout=T
        ),
        "venue_order_id",
    ),
    "get order venue order id too long": Case(
        lambda s: s.orders.GetOrder(
            orders_pb2.GetOrderRequest(venue_order_id="v" * 129), metadata=VIEWER, timeout=T
        ),
        "venue_order_id",
    ),
    "get order unknown": Case(
        lambda s: s.orders.GetOrder(
            orders_pb2.GetOrderRequest(client_order_id="nope"), metadata=VIEWER, timeout=T
        ),
        None,
        NOT_FOUND,
    ),
    "cancel order without an id": Case(
        lambda s: s.orders.CancelOrder(orders_pb2.CancelOrderRequest(), metadata=TRADER, timeout=T), "id"
    ),
    "cancel order unknown": Case(
        lambda s: s.orders.CancelOrder(
            orders_pb2.CancelOrderRequest(venue_order_id="PAPER-404"), metadata=TRADER, timeout=T
        ),
        None,
        NOT_FOUND,
    ),
    "cancel all of an unknown instrument": Case(
        lambda s: s.orders.CancelAllOrders(
            orders_pb2.CancelAllOrdersRequest(instrument_id="DOGEUSDT.BINANCE"), metadata=TRADER, timeout=T
        ),
        "instrument_id",
    ),
    "order book depth 100000": Case(
        lambda s: s.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id=BTC, depth=100_000), metadata=VIEWER, timeout=T
        ),
        "depth",
    ),
    "order book depth negative": Case(
        lambda s: s.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id=BTC, depth=-1), metadata=VIEWER, timeout=T
        ),
        "depth",
    ),
    "order book malformed instrument": Case(
        lambda s: s.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id="BTC/USDT"), metadata=VIEWER, timeout=T
        ),
        "instrument_id",
    ),
    "order book unknown instrument": Case(
        lambda s: s.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id="DOGEUSDT.BINANCE"), metadata=VIEWER, timeout=T
        ),
        None,
        NOT_FOUND,
    ),
    "quote without an instrument": Case(
        lambda s: s.market.GetQuote(market_data_pb2.GetQuoteRequest(), metadata=VIEWER, timeout=T),
        "instrument_id",
    ),
    "quote of an unknown instrument": Case(
        lambda s: s.market.GetQuote(
            market_data_pb2.GetQuoteRequest(instrument_id="DOGEUSDT.BINANCE"), metadata=VIEWER, timeout=T
        ),
        None,
        NOT_FOUND,
    ),
}


def update_limits(**request: Any) -> Callable[[Stubs], Any]:
    return lambda s: s.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(**request), metadata=ADMIN, timeout=T
    )


def update_params(strategy_id: str = STRATEGY, **parameters: str) -> Callable[[Stubs], Any]:
    return lambda s: s.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(strategy_id=strategy_id, parameters=parameters),
        metadata=TRADER,
        timeout=T,
    )


COMMAND_CASES = {
    "risk limit negative": Case(
        update_limits(limits=risk_pb2.RiskLimits(max_order_quantity="-1")), "limits.max_order_quantity"
    ),
    "risk limit NaN": Case(
        update_limits(limits=risk_pb2.RiskLimits(max_order_notional="NaN")), "limits.max_order_notional"
    ),
    "risk limit not a number": Case(
        update_limits(limits=risk_pb2.RiskLimits(daily_loss_limit="lots")), "limits.daily_loss_limit"
    ),
    "risk limit zero open orders": Case(
        update_limits(limits=risk_pb2.RiskLimits(max_open_orders=0)), "limits.max_open_orders"
    ),
    "risk limit half of a pair": Case(update_limits(clear=["window_ns"]), "limits.window_ns"),
    "risk clear of an unknown limit": Case(update_limits(clear=["max_leverage"]), "clear[0]"),
    "risk clear of a limit also set": Case(
        update_limits(limits=risk_pb2.RiskLimits(max_order_quantity="1"), clear=["max_order_quantity"]),
        "clear[0]",
    ),
    "risk update of nothing": Case(update_limits(), "limits"),
    "halt without a reason": Case(
        lambda s: s.risk.Halt(risk_pb2.HaltRequest(), metadata=ADMIN, timeout=T), "reason"
    ),
    "halt with a blank reason": Case(
        lambda s: s.risk.Halt(risk_pb2.HaltRequest(reason="  \t "), metadata=ADMIN, timeout=T), "reason"
    ),
    "halt with a novel as reason": Case(
        lambda s: s.risk.Halt(risk_pb2.HaltRequest(reason="x" * 501), metadata=ADMIN, timeout=T), "reason"
    ),
    "strategy params of an unknown strategy": Case(update_params("nope", fast="5"), None, NOT_FOUND),
    "strategy params of a malformed id": Case(update_params("no pe", fast="5"), "strategy_id"),
    "strategy params not an integer": Case(update_params(fast="abc"), "parameters.fast"),
    "strategy params out of range": Case(update_params(slow="0"), "parameters.slow"),
    "strategy params unknown name": Case(update_params(fastest="5"), "parameters.fastest"),
    "strategy params none": Case(update_params(), "parameters"),
    "strategy params value too long": Case(update_params(fast="1" * 201), "parameters.fast"),
    "start an unknown strategy": Case(
        lambda s: s.strategies.StartStrategy(
            strategies_pb2.StartStrategyRequest(strategy_id="nope"), metadata=TRADER, timeout=T
        ),
        None,
        NOT_FOUND,
    ),
    "stop a strategy without an id": Case(
        lambda s: s.strategies.StopStrategy(strategies_pb2.StopStrategyRequest(), metadata=TRADER, timeout=T),
        "strategy_id",
    ),
}

STREAM_CASES = {
    "stream quotes of a malformed instrument": Case(
        lambda s: s.market.StreamQuotes(
            market_data_pb2.StreamQuotesRequest(instrument_ids=[BTC, "eth"]), metadata=VIEWER, timeout=T
        ),
        "instrument_ids[1]",
        stream=True,
    ),
    "stream trades of an unknown instrument": Case(
        lambda s: s.market.StreamTrades(
            market_data_pb2.StreamTradesRequest(instrument_ids=["DOGEUSDT.BINANCE"]),
            metadata=VIEWER,
            timeout=T,
        ),
        "instrument_ids[0]",
        stream=True,
    ),
    "stream order events of a malformed instrument": Case(
        lambda s: s.orders.StreamOrderEvents(
            orders_pb2.StreamOrderEventsRequest(instrument_id="x"), metadata=VIEWER, timeout=T
        ),
        "instrument_id",
        stream=True,
    ),
    "stream positions of a malformed instrument": Case(
        lambda s: s.portfolio.StreamPositions(
            portfolio_pb2.StreamPositionsRequest(instrument_id="BTCUSDT"), metadata=VIEWER, timeout=T
        ),
        "instrument_id",
        stream=True,
    ),
    "stream signals of a malformed strategy": Case(
        lambda s: s.strategies.StreamSignals(
            strategies_pb2.StreamSignalsRequest(strategy_id="a b"), metadata=VIEWER, timeout=T
        ),
        "strategy_id",
        stream=True,
    ),
}

CASES = {**SUBMIT_CASES, **QUERY_CASES, **COMMAND_CASES, **STREAM_CASES}


async def run_case(env: Env, case: Case) -> Refusal:
    call = case.call(env.stub)
    refusal = await (stream_refused(call) if case.stream else refused(call))
    if case.field is None:
        assert refusal.code == case.code, refusal
        assert refusal.fields == ()
        assert refusal.reason == "NOT_FOUND"
    else:
        assert_invalid(refusal, case.field, case.code)
    assert len(refusal.message) < 400, "the message echoes too much of the input"
    return refusal


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_bad_input_is_refused_naming_the_field(env: Env, case: Case) -> None:
    await run_case(env, case)

    assert env.order_count() == 0
    assert env.server.hub.count() == 0


async def test_the_engine_serves_on_after_every_bad_input(env: Env) -> None:
    await env.rest("keep")  # something the bad calls must not disturb
    for case in CASES.values():
        await run_case(env, case)

    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert status.running
    assert status.trading_state == common_pb2.TRADING_STATE_ACTIVE
    assert status.counters.handler_errors == 0
    assert env.app.bus.stats.handler_errors == 0
    assert (status.counters.orders_submitted, status.counters.open_orders) == (1, 1)
    assert (await env.submit("still-trading")).order.status == common_pb2.ORDER_STATUS_FILLED


# -- the messages, as a person at a terminal reads them -------------------------------------------

MESSAGES = {
    "quantity NaN": "quantity: is not a decimal number (was 'NaN'); use digits and one '.'",
    "quantity off the lot": f"quantity: is not a multiple of the {BTC} lot size 0.001",
    "price off the tick": f"price: is not a multiple of the {BTC} price tick 0.01",
    "price on a market order": "price: must be empty for a MARKET order",
    "post only on a market order": "post_only: is only for a LIMIT order, not MARKET",
    "side out of range": "side: has no value 7 (one of SIDE_BUY, SIDE_SELL)",
    "type unspecified": (
        "type: must be set (one of ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT,"
        " ORDER_TYPE_STOP_MARKET, ORDER_TYPE_STOP_LIMIT)"
    ),
    "list orders page size 5000": "page_size: must be between 1 and 1000 (was 5000)",
    "order book depth 100000": "depth: must be between 1 and 1000 (was 100000)",
    "strategy params of an unknown strategy": "unknown strategy 'nope'",
}
"""Case name -> the whole message of its refusal."""

MESSAGE_STARTS = {
    "quantity very long": "quantity: is not a decimal number (was '1111",
    "risk clear of an unknown limit": (
        "clear[0]: 'max_leverage' is not a risk limit; known: max_order_quantity"
    ),
}
"""Case name -> how the message of its refusal starts (the rest is long: an echo cut short, a list)."""


@pytest.mark.parametrize(("name", "expected"), MESSAGES.items(), ids=MESSAGES.keys())
async def test_the_message_says_what_is_wrong(env: Env, name: str, expected: str) -> None:
    refusal = await run_case(env, CASES[name])

    assert refusal.message == expected


@pytest.mark.parametrize(("name", "beginning"), MESSAGE_STARTS.items(), ids=MESSAGE_STARTS.keys())
async def test_a_long_message_starts_by_saying_what_is_wrong(env: Env, name: str, beginning: str) -> None:
    refusal = await run_case(env, CASES[name])

    assert refusal.message.startswith(beginning)


async def test_an_unknown_instrument_is_named_with_the_known_ones(env: Env) -> None:
    refusal = await run_case(env, CASES["instrument unknown"])

    assert refusal.message.startswith("instrument_id: unknown instrument 'DOGEUSDT.BINANCE'; known: ")
    assert BTC in refusal.message


async def test_a_risk_refusal_is_failed_precondition_with_every_reason(env: Env) -> None:
    refusal = await refused(
        env.submit("big", order_type=common_pb2.ORDER_TYPE_LIMIT, price="40000.00", quantity="6")
    )

    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refusal.reason == "RISK_REJECTED"
    assert refusal.message.startswith("refused by risk: ")
    assert "order quantity 6 exceeds the max order quantity 5" in refusal.message
    assert "beyond the price band 5%" in refusal.message
    assert {kind for kind, _ in refusal.preconditions} == {"MAX_ORDER_QUANTITY", "PRICE_BAND"}
    assert refusal.fields == ()
    assert env.order_count() == 0
    assert env.app.orders.stats.risk_rejections == 1
