"""Tokens, roles and rate limits, enforced by the real server on unary and streaming calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from tradeplane.v1 import (
    common_pb2,
    engine_pb2,
    market_data_pb2,
    ml_pb2,
    ml_pb2_grpc,
    orders_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from adapters.ml.artifacts import save_artifact
from entrypoints.grpc.auth import hash_token
from tests.integration.grpc.support import (
    ADMIN,
    ADMIN_TOKEN,
    BTC,
    CALL_TIMEOUT_S,
    STRATEGY,
    TRADER,
    TRADER_TOKEN,
    VIEWER,
    Env,
    Stubs,
    next_message,
    quote,
    refused,
    stream_refused,
    subscribed,
    trade,
)
from tests.integration.grpc.test_ml_service import model_record, stored_id

T = CALL_TIMEOUT_S
Metadata = tuple[tuple[str, str], ...]
Call = Callable[[Stubs, Metadata], Any]
Starter = Callable[..., Coroutine[Any, Any, Env]]
MODEL = b"auth-model"
MODEL_ID = stored_id(MODEL, model_record())


@pytest.fixture
def env(loop: asyncio.AbstractEventLoop, start: Starter, tmp_path: Path) -> Env:
    """The default engine, its models directory holding one model (``MODEL_ID``)."""
    save_artifact(tmp_path / "models", MODEL, model_record())
    return loop.run_until_complete(start(ml={"models_dir": str(tmp_path / "models")}))


def _market_buy() -> orders_pb2.SubmitOrderRequest:
    return orders_pb2.SubmitOrderRequest(
        client_order_id="auth-1",
        instrument_id=BTC,
        side=common_pb2.SIDE_BUY,
        type=common_pb2.ORDER_TYPE_MARKET,
        quantity="0.01",
    )


# Every unary method a viewer may call, and every method it may not, by the role it needs.
READS: dict[str, Call] = {
    "GetStatus": lambda s, m: s.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=m, timeout=T),
    "ListOrders": lambda s, m: s.orders.ListOrders(orders_pb2.ListOrdersRequest(), metadata=m, timeout=T),
    "ListFills": lambda s, m: s.orders.ListFills(orders_pb2.ListFillsRequest(), metadata=m, timeout=T),
    "GetAccount": lambda s, m: s.portfolio.GetAccount(
        portfolio_pb2.GetAccountRequest(), metadata=m, timeout=T
    ),
    "ListPositions": lambda s, m: s.portfolio.ListPositions(
        portfolio_pb2.ListPositionsRequest(), metadata=m, timeout=T
    ),
    "GetEquityHistory": lambda s, m: s.portfolio.GetEquityHistory(
        portfolio_pb2.GetEquityHistoryRequest(), metadata=m, timeout=T
    ),
    "ListInstruments": lambda s, m: s.market.ListInstruments(
        market_data_pb2.ListInstrumentsRequest(), metadata=m, timeout=T
    ),
    "GetQuote": lambda s, m: s.market.GetQuote(
        market_data_pb2.GetQuoteRequest(instrument_id=BTC), metadata=m, timeout=T
    ),
    "GetOrderBook": lambda s, m: s.market.GetOrderBook(
        market_data_pb2.GetOrderBookRequest(instrument_id=BTC), metadata=m, timeout=T
    ),
    "GetConsolidatedQuote": lambda s, m: s.market.GetConsolidatedQuote(
        market_data_pb2.GetConsolidatedQuoteRequest(base="BTC", quote="USDT"), metadata=m, timeout=T
    ),
    "GetRiskLimits": lambda s, m: s.risk.GetRiskLimits(
        risk_pb2.GetRiskLimitsRequest(), metadata=m, timeout=T
    ),
    "GetRiskState": lambda s, m: s.risk.GetRiskState(risk_pb2.GetRiskStateRequest(), metadata=m, timeout=T),
    "ListStrategies": lambda s, m: s.strategies.ListStrategies(
        strategies_pb2.ListStrategiesRequest(), metadata=m, timeout=T
    ),
    "ListModels": lambda s, m: ml_pb2_grpc.MlServiceStub(s.channel).ListModels(
        ml_pb2.ListModelsRequest(), metadata=m, timeout=T
    ),
    "GetModel": lambda s, m: ml_pb2_grpc.MlServiceStub(s.channel).GetModel(
        ml_pb2.GetModelRequest(model_id=MODEL_ID), metadata=m, timeout=T
    ),
}
TRADER_WRITES: dict[str, Call] = {
    "SubmitOrder": lambda s, m: s.orders.SubmitOrder(_market_buy(), metadata=m, timeout=T),
    "CancelOrder": lambda s, m: s.orders.CancelOrder(
        orders_pb2.CancelOrderRequest(client_order_id="resting"), metadata=m, timeout=T
    ),
    "CancelAllOrders": lambda s, m: s.orders.CancelAllOrders(
        orders_pb2.CancelAllOrdersRequest(), metadata=m, timeout=T
    ),
    "StartStrategy": lambda s, m: s.strategies.StartStrategy(
        strategies_pb2.StartStrategyRequest(strategy_id=STRATEGY), metadata=m, timeout=T
    ),
    "StopStrategy": lambda s, m: s.strategies.StopStrategy(
        strategies_pb2.StopStrategyRequest(strategy_id=STRATEGY), metadata=m, timeout=T
    ),
    "UpdateStrategyParams": lambda s, m: s.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(strategy_id=STRATEGY, parameters={"slow": "4"}),
        metadata=m,
        timeout=T,
    ),
}
ADMIN_WRITES: dict[str, Call] = {
    "UpdateRiskLimits": lambda s, m: s.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(limits=risk_pb2.RiskLimits(max_order_quantity="1")),
        metadata=m,
        timeout=T,
    ),
    "Halt": lambda s, m: s.risk.Halt(risk_pb2.HaltRequest(reason="auth test"), metadata=m, timeout=T),
    "Resume": lambda s, m: s.risk.Resume(risk_pb2.ResumeRequest(), metadata=m, timeout=T),
}


async def assert_untouched(env: Env) -> None:
    """No refused command changed anything."""
    assert env.order_count() == 1  # the resting order the test placed as admin
    assert "resting" in env.app.orders.open_orders
    slot = env.app.strategies.slot(STRATEGY)
    assert not slot.active
    assert dict(slot.strategy.parameters())["slow"] == 3
    limits = (
        await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=ADMIN, timeout=T)
    ).limits
    assert limits.max_order_quantity == "5"
    assert env.app.risk.trading.state.value == "ACTIVE"


async def test_a_viewer_reads_everything(env: Env) -> None:
    for name, call in READS.items():
        response = await call(env.stub, VIEWER)
        assert response.ByteSize() > 0 or name in {"ListOrders", "ListFills", "ListPositions"}, name


async def test_a_viewer_streams(env: Env) -> None:
    s = env.stub
    quotes = s.market.StreamQuotes(market_data_pb2.StreamQuotesRequest(), metadata=VIEWER)
    trades = s.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
    orders = s.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=VIEWER)
    positions = s.portfolio.StreamPositions(portfolio_pb2.StreamPositionsRequest(), metadata=VIEWER)
    signals = s.strategies.StreamSignals(strategies_pb2.StreamSignalsRequest(), metadata=VIEWER)
    for topic in ("quotes", "trades", "order_events", "positions", "signals"):
        await subscribed(env, topic)

    env.publish(quote("29999.00", "30001.00"), trade("30000.00", "auth-trade"))
    await env.submit("streamed")
    assert (await next_message(quotes)).quote.bid_price == "29999"
    assert (await next_message(trades)).trade.trade_id == "auth-trade"
    assert (await next_message(orders)).event.client_order_id == "streamed"
    assert (await next_message(positions)).position.quantity == "0.01"
    for stream in (quotes, trades, orders, positions, signals):
        stream.cancel()


@pytest.mark.parametrize("method", [*TRADER_WRITES, *ADMIN_WRITES])
async def test_a_viewer_may_not_command(env: Env, method: str) -> None:
    await env.rest("resting", metadata=ADMIN)
    call = {**TRADER_WRITES, **ADMIN_WRITES}[method]

    refusal = await refused(call(env.stub, VIEWER))

    needs = "admin" if method in ADMIN_WRITES else "trader"
    assert refusal.code == grpc.StatusCode.PERMISSION_DENIED
    assert refusal.message == f"token 'viewer' has role viewer; {method} needs {needs}"
    await assert_untouched(env)


@pytest.mark.parametrize("method", list(ADMIN_WRITES))
async def test_a_trader_may_not_change_risk(env: Env, method: str) -> None:
    await env.rest("resting", metadata=ADMIN)

    refusal = await refused(ADMIN_WRITES[method](env.stub, TRADER))

    assert refusal.code == grpc.StatusCode.PERMISSION_DENIED
    assert refusal.message == f"token 'trader' has role trader; {method} needs admin"
    await assert_untouched(env)


async def test_a_trader_trades_and_runs_strategies(env: Env) -> None:
    await env.rest("resting", metadata=TRADER)
    for name, call in TRADER_WRITES.items():
        response = await call(env.stub, TRADER)
        assert response.ByteSize() > 0 or name == "CancelAllOrders", name
    assert env.app.orders.stats.orders_submitted == 2
    assert not env.app.orders.open_orders  # canceled by CancelOrder
    assert not env.app.strategies.slot(STRATEGY).active  # started, then stopped
    assert dict(env.app.strategies.slot(STRATEGY).strategy.parameters())["slow"] == 4


async def test_an_admin_may_do_everything(env: Env) -> None:
    await env.rest("resting", metadata=ADMIN)
    for name, call in {**READS, **TRADER_WRITES}.items():
        response = await call(env.stub, ADMIN)
        assert response.ByteSize() > 0 or name in {"ListFills", "ListPositions", "CancelAllOrders"}, name
    for name, call in ADMIN_WRITES.items():
        response = await call(env.stub, ADMIN)
        assert response.ByteSize() > 0, name
    assert env.app.risk.limits.max_order_quantity == 1
    assert env.app.risk.trading.state.value == "ACTIVE"  # halted, then resumed
    stream = env.stub.market.StreamQuotes(market_data_pb2.StreamQuotesRequest(), metadata=ADMIN)
    await subscribed(env, "quotes")
    env.publish(quote("29999.00", "30001.00"))
    assert (await next_message(stream)).quote.ask_price == "30001"
    stream.cancel()


BAD_CREDENTIALS = {
    "missing": ((), "missing authorization metadata: send 'authorization: Bearer <token>'"),
    "basic": ((("authorization", "Basic x"),), "malformed authorization metadata: expected 'Bearer <token>'"),
    "empty bearer": (
        (("authorization", "Bearer "),),
        "malformed authorization metadata: expected 'Bearer <token>'",
    ),
    "no scheme": (
        (("authorization", ADMIN_TOKEN),),
        "malformed authorization metadata: expected 'Bearer <token>'",
    ),
    "wrong token": ((("authorization", "Bearer not-a-known-token"),), "unknown or revoked token"),
    "the hash as token": (
        (("authorization", f"Bearer {hash_token(ADMIN_TOKEN)}"),),
        "unknown or revoked token",
    ),
    "other header": ((("x-api-key", ADMIN_TOKEN),), "missing authorization metadata"),
}


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
async def test_bad_credentials_are_unauthenticated_on_unary_and_stream(env: Env, case: str) -> None:
    metadata, message = BAD_CREDENTIALS[case]

    unary = await refused(
        env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=metadata, timeout=T)
    )
    command = await refused(env.stub.orders.SubmitOrder(_market_buy(), metadata=metadata, timeout=T))
    stream = await stream_refused(
        env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=metadata, timeout=T)
    )

    for refusal in (unary, command, stream):
        assert refusal.code == grpc.StatusCode.UNAUTHENTICATED, (case, refusal)
        assert refusal.message.startswith(message), (case, refusal)
    assert env.server.hub.count() == 0
    assert env.order_count() == 0


async def test_the_scheme_is_case_insensitive(env: Env) -> None:
    metadata = (("authorization", f"bearer {TRADER_TOKEN}"),)
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=metadata, timeout=T)
    assert status.running


LIMITED_TOKEN = "limited-token-0123456789abcdef"


async def test_a_token_over_its_rate_is_resource_exhausted(start: Starter) -> None:
    env = await start(
        extra_tokens=[
            # One call per 1000 s after a burst of 3: the refill cannot make this test flaky.
            {
                "name": "limited",
                "role": "viewer",
                "sha256": hash_token(LIMITED_TOKEN),
                "rate_per_second": 0.001,
                "burst": 3,
            }
        ]
    )
    limited = (("authorization", f"Bearer {LIMITED_TOKEN}"),)
    request = engine_pb2.GetStatusRequest()

    for _ in range(3):
        assert (await env.stub.engine.GetStatus(request, metadata=limited, timeout=T)).running
    unary = await refused(env.stub.engine.GetStatus(request, metadata=limited, timeout=T))
    stream = await stream_refused(
        env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=limited, timeout=T)
    )

    for refusal in (unary, stream):
        assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refusal.message.startswith("rate limit of token 'limited' exceeded; retry in ")
    # Other tokens have their own buckets.
    for metadata in (VIEWER, TRADER, ADMIN):
        assert (await env.stub.engine.GetStatus(request, metadata=metadata, timeout=T)).running


async def test_the_server_wide_rate_applies_to_tokens_without_their_own(start: Starter) -> None:
    env = await start(rate_limit_per_second=0.001, rate_limit_burst=2)
    request = engine_pb2.GetStatusRequest()
    for _ in range(2):
        await env.stub.engine.GetStatus(request, metadata=TRADER, timeout=T)
    refusal = await refused(env.stub.engine.GetStatus(request, metadata=TRADER, timeout=T))
    assert refusal.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "'trader'" in refusal.message
    assert (await env.stub.engine.GetStatus(request, metadata=VIEWER, timeout=T)).running


@pytest.mark.parametrize(
    "method",
    ["/tradeplane.v1.OrderService/NoSuchMethod", "/no.such.Service/Call", "/grpc.health.v1.Health/Nope"],
)
async def test_an_unknown_method_is_unimplemented_with_or_without_a_token(env: Env, method: str) -> None:
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = env.stub.channel.unary_unary(method)
    for metadata in (TRADER, ()):
        refusal = await refused(call(b"", metadata=metadata, timeout=T))
        assert refusal.code == grpc.StatusCode.UNIMPLEMENTED, (method, metadata)
    assert not any(name.endswith("NoSuchMethod") for name, _ in env.server.calls.counts)


async def test_refusals_and_answers_are_counted_by_method_and_code(env: Env) -> None:
    for metadata in (VIEWER, (), VIEWER):
        call = env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=metadata, timeout=T)
        if metadata:
            await call
        else:
            await refused(call)
    await refused(env.stub.orders.SubmitOrder(_market_buy(), metadata=VIEWER, timeout=T))

    # A refusal is counted once its status is sent: the client may have it a moment before.
    expected = {
        ("tradeplane.v1.EngineService/GetStatus", "OK"): 2,
        ("tradeplane.v1.EngineService/GetStatus", "UNAUTHENTICATED"): 1,
        ("tradeplane.v1.OrderService/SubmitOrder", "PERMISSION_DENIED"): 1,
    }
    for _ in range(200):
        if env.server.calls.counts == expected:
            break
        await asyncio.sleep(0.01)
    assert env.server.calls.counts == expected
    assert env.server.auth.requests == 4
    assert env.server.auth.auth_refusals == 2
