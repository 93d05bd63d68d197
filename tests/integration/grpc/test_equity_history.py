"""PortfolioService/GetEquityHistory: the equity curve the engine keeps as it revalues."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from tradeplane.v1 import portfolio_pb2

from application.execution.equity_history import EquityHistory
from entrypoints.grpc.portfolio_service import PortfolioService
from tests.integration.grpc.support import CALL_TIMEOUT_S, VIEWER, Env, trade

T = CALL_TIMEOUT_S


async def history(env: Env, **fields: object) -> portfolio_pb2.GetEquityHistoryResponse:
    request = portfolio_pb2.GetEquityHistoryRequest(**fields)  # type: ignore[arg-type]
    response: portfolio_pb2.GetEquityHistoryResponse = await env.stub.portfolio.GetEquityHistory(
        request, metadata=VIEWER, timeout=T
    )
    return response


async def test_each_valuation_is_on_the_curve_and_the_last_point_is_the_accounts_equity(env: Env) -> None:
    await env.submit("buy", quantity="0.01")
    env.app.risk.mark_to_market(env.app.clock.now_ns())  # as the next trade's mark would
    env.publish(trade("30100.00", "eh-1"))
    env.app.risk.mark_to_market(env.app.clock.now_ns())
    curve = await history(env)
    account = (
        await env.stub.portfolio.GetAccount(portfolio_pb2.GetAccountRequest(), metadata=VIEWER, timeout=T)
    ).account
    assert curve.valuation_currency == "USDT"
    assert curve.step_seconds == 10
    assert curve.max_points == 8640
    assert curve.points
    assert curve.points[-1].equity == account.equity
    times = [p.time.ToNanoseconds() for p in curve.points]
    assert times == sorted(times)


async def test_since_leaves_out_the_earlier_points(env: Env) -> None:
    env.app.risk.mark_to_market(env.app.clock.now_ns())
    everything = await history(env)
    assert everything.points
    last = everything.points[-1].time
    assert not (await history(env, since=last)).points
    before = Timestamp(seconds=last.seconds - 60)
    assert len((await history(env, since=before)).points) == len(everything.points)


@pytest.mark.parametrize("since", [Timestamp(seconds=-5), Timestamp(seconds=1, nanos=-1)])
async def test_a_bad_since_is_invalid_argument_naming_it(env: Env, since: Timestamp) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await history(env, since=since)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("since:")


async def test_the_service_reads_the_engines_own_curve_even_when_it_was_empty_at_start(env: Env) -> None:
    """An empty curve is still the engine's: what it records later is served (not a copy)."""
    history = EquityHistory()
    service = PortfolioService(env.app.portfolio, env.server.hub, history)
    empty = await service.GetEquityHistory(portfolio_pb2.GetEquityHistoryRequest(), None)  # type: ignore[arg-type]
    assert not empty.points
    history.record(5_000_000_000, Decimal("123.45"))
    later = await service.GetEquityHistory(portfolio_pb2.GetEquityHistoryRequest(), None)  # type: ignore[arg-type]
    assert [(p.time.ToNanoseconds(), p.equity) for p in later.points] == [(5_000_000_000, "123.45")]
