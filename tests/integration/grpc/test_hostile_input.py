"""Hostile requests: crafted cursors, undecodable bodies, control characters, huge echoes and
refused credentials. Each is INVALID_ARGUMENT (or the auth code) naming the field, never
INTERNAL or UNKNOWN, and nothing reaches the log as a traceback or as a forged line."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from tradeplane.v1 import (
    backtest_pb2,
    backtest_pb2_grpc,
    engine_pb2,
    orders_pb2,
    risk_pb2,
    strategies_pb2,
)

from tests.integration.grpc.support import (
    ADMIN,
    ADMIN_TOKEN,
    CALL_TIMEOUT_S,
    STRATEGY,
    TRADER,
    TRADER_TOKEN,
    VIEWER,
    VIEWER_TOKEN,
    Env,
    Stubs,
    assert_invalid,
    refused,
    stream_refused,
)

T = CALL_TIMEOUT_S
INVALID = grpc.StatusCode.INVALID_ARGUMENT


class Captured(logging.Handler):
    """Every record of every logger (grpc's own included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(record) for record in self.records)

    def at(self, level: int, logger: str = "") -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno == level and r.name.startswith(logger)]


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def assert_no_traceback(captured: Captured) -> None:
    assert not [r for r in captured.records if r.exc_info], captured.text()
    assert not [r for r in captured.records if r.levelno >= logging.ERROR], captured.text()


# -- 1. crafted page tokens ---------------------------------------------------------------------


def _token(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


CRAFTED_TOKENS = {
    "superscript two": _token("\u00b2", "TP-1"),
    "arabic-indic digits": _token("\u0661\u0662", "TP-1"),
    "29 digits": _token("9" * 29, "TP-1"),
    "just above int64": _token(str(2**63), "TP-1"),
    "5000 digits": _token("9" * 5000, "TP-1"),
    "signed": _token("-5", "TP-1"),
    "huge token": "A" * 100_000,
    "huge id": _token("5", "x" * 10_000),
}


@pytest.mark.parametrize("token", CRAFTED_TOKENS.values(), ids=CRAFTED_TOKENS.keys())
@pytest.mark.parametrize("method", ["ListOrders", "ListFills"])
async def test_a_crafted_page_token_is_invalid_argument(
    env: Env, captured: Captured, method: str, token: str
) -> None:
    await env.submit("one")
    await env.submit("two")
    request: Any = (orders_pb2.ListOrdersRequest if method == "ListOrders" else orders_pb2.ListFillsRequest)(
        page_token=token
    )

    refusal = await refused(getattr(env.stub.orders, method)(request, metadata=VIEWER, timeout=T))

    assert_invalid(refusal, "page_token")
    assert len(refusal.message) < 200
    assert_no_traceback(captured)


async def test_a_page_token_the_server_issued_still_pages(env: Env) -> None:
    for index in range(3):
        await env.submit(f"page-{index}")
    first = await env.stub.orders.ListOrders(
        orders_pb2.ListOrdersRequest(page_size=2), metadata=VIEWER, timeout=T
    )
    second = await env.stub.orders.ListOrders(
        orders_pb2.ListOrdersRequest(page_size=2, page_token=first.next_page_token),
        metadata=VIEWER,
        timeout=T,
    )
    assert [o.client_order_id for o in [*first.orders, *second.orders]] == ["page-2", "page-1", "page-0"]
    fills = await env.stub.orders.ListFills(
        orders_pb2.ListFillsRequest(page_size=1), metadata=VIEWER, timeout=T
    )
    more = await env.stub.orders.ListFills(
        orders_pb2.ListFillsRequest(page_size=5, page_token=fills.next_page_token), metadata=VIEWER, timeout=T
    )
    assert len(fills.fills) + len(more.fills) == 3


# -- 2. undecodable bodies ----------------------------------------------------------------------

HALT = "/tradeplane.v1.RiskService/Halt"
STATUS = "/tradeplane.v1.EngineService/GetStatus"
STREAM_TRADES = "/tradeplane.v1.MarketDataService/StreamTrades"
GARBAGE = b"\xff\xff\xff\xff"  # a tag with an invalid wire type
BAD_UTF8 = b"\x0a\x01\xff"  # field 1 (a string) holding a byte that is not UTF-8


def raw_unary(env: Env, method: str) -> Any:
    return env.stub.channel.unary_unary(method)  # no serializer: the bytes go as they are


def raw_stream(env: Env, method: str) -> Any:
    return env.stub.channel.unary_stream(method)


@pytest.mark.parametrize("body", [GARBAGE, BAD_UTF8], ids=["garbage", "bad utf-8"])
@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer wrong-token-0123456789"),), grpc.StatusCode.UNAUTHENTICATED),
        (VIEWER, grpc.StatusCode.PERMISSION_DENIED),
    ],
    ids=["no token", "wrong token", "role too low"],
)
async def test_a_refusal_never_decodes_the_body(
    env: Env, captured: Captured, body: bytes, metadata: Any, code: grpc.StatusCode
) -> None:
    refusal = await refused(raw_unary(env, HALT)(body, metadata=metadata, timeout=T))

    assert refusal.code == code, refusal
    assert "Error" not in refusal.message
    assert_no_traceback(captured)
    assert env.app.risk.trading.state.value == "ACTIVE"


@pytest.mark.parametrize("body", [GARBAGE, BAD_UTF8], ids=["garbage", "bad utf-8"])
async def test_an_undecodable_body_is_invalid_argument_with_one_short_log_line(
    env: Env, captured: Captured, body: bytes
) -> None:
    unary = await refused(raw_unary(env, HALT)(body, metadata=ADMIN, timeout=T))
    stream = await stream_refused(raw_stream(env, STREAM_TRADES)(body, metadata=VIEWER, timeout=T))

    for refusal in (unary, stream):
        assert refusal.code == INVALID, refusal
        assert refusal.message.startswith("request: "), refusal
        assert "DecodeError" not in refusal.message
    assert_no_traceback(captured)
    lines = captured.at(logging.WARNING, "tradeplane")
    assert len(lines) == 1, captured.text()  # one per peer and reason a minute
    assert all("undecodable" in r.getMessage() and len(r.getMessage()) < 300 for r in lines)
    assert env.app.risk.trading.state.value == "ACTIVE"
    assert env.server.hub.count() == 0


async def test_a_flood_of_undecodable_bodies_logs_a_few_lines(env: Env, captured: Captured) -> None:
    for _ in range(50):
        refusal = await refused(raw_unary(env, STATUS)(GARBAGE, metadata=VIEWER, timeout=T))
        assert refusal.code == INVALID

    assert 1 <= len(captured.at(logging.WARNING, "tradeplane")) <= 5, captured.text()
    assert_no_traceback(captured)


# -- 3. control characters in free text ----------------------------------------------------------

CONTROL = {
    "CR LF": "ok\r\nERROR forged line",
    "NUL": "a\x00b",
    "escape": "x\x1b[31m",
    "DEL": "x\x7f",
    "C1": "x\x85",
    "bidi override": "x\u202e",
    "zero width": "x\u200b",
    "line separator": "x\u2028",
    "private use": "x\ue000",
}


def halt(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.risk.Halt(risk_pb2.HaltRequest(reason=text), metadata=ADMIN, timeout=T)


def venue_order(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.orders.GetOrder(
        orders_pb2.GetOrderRequest(venue_order_id=text), metadata=VIEWER, timeout=T
    )


def cancel_venue_order(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.orders.CancelOrder(
        orders_pb2.CancelOrderRequest(venue_order_id=text), metadata=TRADER, timeout=T
    )


def param_value(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(strategy_id=STRATEGY, parameters={"fast": text}),
        metadata=TRADER,
        timeout=T,
    )


def param_name(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(strategy_id=STRATEGY, parameters={"fa" + text: "5"}),
        metadata=TRADER,
        timeout=T,
    )


def clear(text: str) -> Callable[[Stubs], Any]:
    return lambda s: s.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(clear=[text]), metadata=ADMIN, timeout=T
    )


def instrument_limit_key(text: str) -> Callable[[Stubs], Any]:
    limits = risk_pb2.RiskLimits(instrument_limits={text: risk_pb2.InstrumentLimits(max_order_quantity="1")})
    return lambda s: s.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(limits=limits), metadata=ADMIN, timeout=T
    )


def backtest_strategy(text: str) -> Callable[[Stubs], Any]:
    def call(s: Stubs) -> Any:
        stub = backtest_pb2_grpc.BacktestServiceStub(s.channel)
        return stub.ListBacktests(
            backtest_pb2.ListBacktestsRequest(strategy=text), metadata=VIEWER, timeout=T
        )

    return call


FIELDS: dict[str, tuple[Callable[[str], Callable[[Stubs], Any]], str, str]] = {
    # name: (request builder, field named in the refusal, a harmless prefix for the value)
    "halt reason": (halt, "reason", "maintenance "),
    "venue order id (get)": (venue_order, "venue_order_id", "PAPER-1"),
    "venue order id (cancel)": (cancel_venue_order, "venue_order_id", "PAPER-1"),
    "strategy parameter value": (param_value, "parameters.fast", "5"),
    "strategy parameter name": (param_name, "parameters", ""),
    "risk clear": (clear, "clear[0]", "max_order_quantity"),
    "instrument limit key": (instrument_limit_key, "limits.instrument_limits", "BTCUSDT.BINANCE"),
    "backtest strategy filter": (backtest_strategy, "strategy", "sma_crossover"),
}


@pytest.mark.parametrize("control", CONTROL.values(), ids=CONTROL.keys())
@pytest.mark.parametrize("name", FIELDS)
async def test_control_characters_are_refused_naming_the_field(
    env: Env, captured: Captured, name: str, control: str
) -> None:
    build, field, prefix = FIELDS[name]

    refusal = await refused(build(prefix + control)(env.stub))

    assert_invalid(refusal, field)
    assert "control character" in refusal.message, refusal
    assert not any(ch in refusal.message for ch in "\r\n\x00\x1b"), refusal
    assert env.app.risk.trading.state.value == "ACTIVE"
    assert_no_traceback(captured)


async def test_a_halt_reason_cannot_forge_a_log_line_or_reach_the_trading_state(
    env: Env, captured: Captured
) -> None:
    refusal = await refused(halt("fat finger\nINFO tradeplane.risk resumed by admin")(env.stub))

    assert_invalid(refusal, "reason")
    assert env.app.risk.trading.state.value == "ACTIVE"
    assert not [r for r in captured.records if "resumed by admin" in r.getMessage()]


async def test_printable_unicode_in_a_halt_reason_is_kept(env: Env) -> None:
    reason = "écart de prix — 停止 ✓"
    await halt(reason)(env.stub)

    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert reason in status.trading_reason


# -- 4. bounded echoes ---------------------------------------------------------------------------


async def test_a_huge_clear_entry_is_echoed_short(env: Env) -> None:
    refusal = await refused(clear("x" * 10_000)(env.stub))

    assert_invalid(refusal, "clear[0]")
    assert len(refusal.message) < 1000
    assert "x" * 65 not in refusal.message
    assert "…" in refusal.message


HUGE = "9" * 10_000
ECHOES: dict[str, Callable[[Stubs], Any]] = {
    "venue order id": venue_order("v" * 100),
    "risk limit value": lambda s: s.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(limits=risk_pb2.RiskLimits(max_order_quantity="x" + HUGE)),
        metadata=ADMIN,
        timeout=T,
    ),
    "instrument limit key": instrument_limit_key("Z" * 10_000),
    "strategy parameter name": lambda s: s.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(strategy_id=STRATEGY, parameters={"p" * 10_000: "5"}),
        metadata=TRADER,
        timeout=T,
    ),
    "backtest strategy filter": backtest_strategy("s" * 10_000),
}


@pytest.mark.parametrize("call", ECHOES.values(), ids=ECHOES.keys())
async def test_no_refusal_echoes_more_than_a_short_excerpt(env: Env, call: Callable[[Stubs], Any]) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(env.stub)

    error = caught.value
    assert error.code() in {INVALID, grpc.StatusCode.NOT_FOUND}, error
    assert len(error.details() or "") < 1000, error.details()
    trailer = sum(len(value) for _, value in error.trailing_metadata() or ())
    assert trailer < 2000


# -- 5. refused credentials are logged and counted -----------------------------------------------


async def test_auth_refusals_are_logged_without_the_token_and_counted(env: Env, captured: Captured) -> None:
    wrong = "wrong-token-0123456789abcdef"
    await refused(env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), timeout=T))
    await refused(
        env.stub.engine.GetStatus(
            engine_pb2.GetStatusRequest(), metadata=(("authorization", f"Bearer {wrong}"),), timeout=T
        )
    )
    await refused(env.stub.risk.Halt(risk_pb2.HaltRequest(reason="x"), metadata=VIEWER, timeout=T))

    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert status.counters.auth_refusals == 3
    warnings = [r.getMessage() for r in captured.at(logging.WARNING, "tradeplane")]
    assert len(warnings) == 3, warnings
    assert any("UNAUTHENTICATED" in w and "missing" in w for w in warnings), warnings
    assert any("UNAUTHENTICATED" in w and "unknown" in w for w in warnings), warnings
    assert any("PERMISSION_DENIED" in w and "Halt" in w for w in warnings), warnings
    assert all("127.0.0.1" in w for w in warnings), warnings
    text = captured.text()
    for secret in (wrong, wrong[:8], wrong[-8:], VIEWER_TOKEN, TRADER_TOKEN, ADMIN_TOKEN):
        assert secret not in text


async def test_a_flood_of_refusals_logs_a_few_lines_and_counts_every_one(
    env: Env, captured: Captured
) -> None:
    for _ in range(40):
        await refused(env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), timeout=T))
    stream = await stream_refused(
        env.stub.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), timeout=T)
    )
    assert stream.code == grpc.StatusCode.UNAUTHENTICATED

    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert status.counters.auth_refusals == 41
    assert 1 <= len(captured.at(logging.WARNING, "tradeplane")) <= 3, captured.text()
