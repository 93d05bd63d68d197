"""Market data, risk limit and strategy parameter updates, alerts and backtests over HTTP.

Each route answers as its gRPC method does for the same state; bad and hostile input is 400
naming the field; no token is 401, a role too low 403, an unknown id 404. A backtest runs as
JSON or as Server-Sent Events, and a client that leaves stops the run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from tradeplane.v1 import (
    backtest_pb2,
    backtest_pb2_grpc,
    engine_pb2,
    market_data_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from entrypoints.web.serve import RunningGateway, start_gateway
from tests.integration.grpc.support import (
    BTC,
    BTC_ASKS,
    BTC_BIDS,
    CALL_TIMEOUT_S,
    ETH,
    STRATEGY,
    TEST_TIMEOUT_S,
    TRADER,
    VIEWER,
    Env,
    wait_until,
)
from tests.integration.web.test_gateway import ADMIN_H, TRADER_H, VIEWER_H, assert_error, client
from tests.integration.web.test_streams import Event, Reader
from tests.unit.adapters.historical.files import MINUTE, T0, kline, spot_trade, write

API = "/api/v1"
T = CALL_TIMEOUT_S
Starter = Callable[..., Coroutine[Any, Any, Env]]
KLINES = "BTCUSDT-1h-2024-01.csv"
TRADES = "BTCUSDT-trades-2024-01.csv"
PARAMS = {"fast": "5", "slow": "20"}
SSE_H = {**TRADER_H, "Accept": "text/event-stream"}


def as_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


# -- market data ----------------------------------------------------------------------------------


async def test_quote_book_and_consolidated_quote_answer_as_grpc(gateway: RunningGateway, env: Env) -> None:
    market = env.stub.market
    async with client(gateway) as http:
        quote = await http.get(f"{API}/instruments/{BTC}/quote", headers=VIEWER_H)
        book = await http.get(f"{API}/instruments/{BTC}/book", headers=VIEWER_H)
        top = await http.get(f"{API}/instruments/{BTC}/book", params={"depth": "1"}, headers=VIEWER_H)
        pair = await http.get(
            f"{API}/consolidated-quote", params={"base": "BTC", "quote": "USDT"}, headers=VIEWER_H
        )
    for response in (quote, book, top, pair):
        assert response.status_code == 200, response.text
    grpc_quote = await market.GetQuote(market_data_pb2.GetQuoteRequest(instrument_id=BTC), metadata=VIEWER)
    grpc_book = await market.GetOrderBook(
        market_data_pb2.GetOrderBookRequest(instrument_id=BTC), metadata=VIEWER
    )
    grpc_pair = await market.GetConsolidatedQuote(
        market_data_pb2.GetConsolidatedQuoteRequest(base="BTC", quote="USDT"), metadata=VIEWER
    )
    assert quote.json() == as_json(grpc_quote)
    assert Decimal(quote.json()["quote"]["bid_price"]) == Decimal(BTC_BIDS[0][0])
    assert book.json() == as_json(grpc_book)
    assert [Decimal(level["price"]) for level in book.json()["asks"]] == [Decimal(p) for p, _ in BTC_ASKS]
    assert [(Decimal(level["price"]), Decimal(level["size"])) for level in top.json()["bids"]] == [
        (Decimal(BTC_BIDS[0][0]), Decimal(BTC_BIDS[0][1]))
    ]
    assert len(top.json()["asks"]) == 1
    assert pair.json() == as_json(grpc_pair)
    assert Decimal(pair.json()["best_ask"]["price"]) == Decimal(BTC_ASKS[0][0])


async def test_market_data_bad_input_is_400_naming_the_field(gateway: RunningGateway) -> None:
    book = f"{API}/instruments/{BTC}/book"
    pair = f"{API}/consolidated-quote"
    cases: list[tuple[str, dict[str, str], str]] = [
        (book, {"depth": "many"}, "depth"),  # refused by the gateway
        (book, {"depth": "100000"}, "depth"),  # refused by the server
        (book, {"depth": "-1"}, "depth"),
        (book, {"depth": str(2**40)}, "depth"),  # more than an int32 holds
        (book, {"instrument_id": ETH}, "instrument_id"),  # not the path's
        (book, {"colour": "red"}, "colour"),
        (pair, {"base": "btc", "quote": "USDT"}, "base"),
        (pair, {"base": "BTC"}, "quote"),
        (pair, {"base": "B\x00TC", "quote": "USDT"}, "base"),
        (pair, {"base": "X" * 5000, "quote": "USDT"}, "base"),
        (pair, {"base": "BTC", "quote": "USDT", "venue": "x"}, "venue"),
        (f"{API}/instruments/not an id/quote", {}, "instrument_id"),
        (f"{API}/instruments/{'A' * 5000}.BINANCE/book", {}, "instrument_id"),
        (f"{API}/instruments/BTC\u00a0USDT.BINANCE/quote", {}, "instrument_id"),
    ]
    async with client(gateway) as http:
        for path, params, field in cases:
            response = await http.get(path, params=params, headers=VIEWER_H)
            assert_error(response, 400, "INVALID_ARGUMENT", field=field)


async def test_market_data_of_what_is_not_there_is_404(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        unknown = await http.get(f"{API}/instruments/DOGEUSDT.BINANCE/quote", headers=VIEWER_H)
        no_quote_yet = await http.get(f"{API}/instruments/{ETH}/quote", headers=VIEWER_H)
        no_book = await http.get(f"{API}/instruments/{ETH}/book", headers=VIEWER_H)
        unknown_book = await http.get(f"{API}/instruments/DOGEUSDT.BINANCE/book", headers=VIEWER_H)
        unknown_pair = await http.get(
            f"{API}/consolidated-quote", params={"base": "BTC", "quote": "USD"}, headers=VIEWER_H
        )
    for response in (unknown, no_quote_yet, no_book, unknown_book, unknown_pair):
        assert_error(response, 404, "NOT_FOUND")
    assert "BTC/USD" in unknown_pair.json()["error"]["message"]


# -- risk limits, strategy parameters, alerts -------------------------------------------------------


async def test_an_admin_updates_the_risk_limits(gateway: RunningGateway, env: Env) -> None:
    change = {"limits": {"max_order_quantity": "1.5", "max_gross_exposure": "250000.00"}}
    async with client(gateway) as http:
        updated = await http.patch(f"{API}/risk/limits", json=change, headers=ADMIN_H)
        assert updated.status_code == 200, updated.text
        cleared = await http.patch(
            f"{API}/risk/limits", json={"clear": ["max_gross_exposure"]}, headers=ADMIN_H
        )
        assert cleared.status_code == 200, cleared.text
        risk = await http.get(f"{API}/risk", headers=VIEWER_H)
    assert Decimal(updated.json()["limits"]["max_order_quantity"]) == Decimal("1.5")
    assert Decimal(updated.json()["limits"]["max_gross_exposure"]) == Decimal("250000.00")
    assert updated.json()["state"]["state"] == "TRADING_STATE_ACTIVE"
    assert "max_gross_exposure" not in cleared.json()["limits"]
    grpc_limits = await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=VIEWER)
    assert cleared.json()["limits"] == as_json(grpc_limits)["limits"] == risk.json()["limits"]


async def test_risk_limit_updates_refused(gateway: RunningGateway, env: Env) -> None:
    path = f"{API}/risk/limits"
    bad: list[tuple[Any, str | None]] = [
        ({"limits": {"max_order_quantity": "-1"}}, "limits.max_order_quantity"),
        ({"limits": {"max_order_notional": "NaN"}}, "limits.max_order_notional"),
        ({"limits": {"max_order_quantity": 1.5}}, "limits.max_order_quantity"),  # a number, not a string
        ({"limits": {"leverage": "3"}}, "limits.leverage"),
        ({"clear": ["max_leverage"]}, "clear[0]"),
        ({}, "limits"),
        ({"limits": "lots"}, "limits"),
        ({"colour": "red"}, "colour"),
    ]
    async with client(gateway) as http:
        for change, field in bad:
            assert_error(await http.patch(path, json=change, headers=ADMIN_H), 400, "INVALID_ARGUMENT", field)
        deep = await http.patch(path, content=b'{"limits":' * 50_000, headers=ADMIN_H)
        assert_error(deep, 400, "INVALID_ARGUMENT")
        change = {"limits": {"max_order_quantity": "1"}}
        assert_error(await http.patch(path, json=change), 401, "UNAUTHENTICATED")
        assert_error(await http.patch(path, json=change, headers=TRADER_H), 403, "PERMISSION_DENIED")
        assert_error(await http.patch(path, json=change, headers=VIEWER_H), 403, "PERMISSION_DENIED")
    limits = await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=VIEWER)
    assert limits.limits.max_order_quantity == "5"  # nothing changed


async def test_a_trader_updates_a_strategys_parameters(gateway: RunningGateway, env: Env) -> None:
    path = f"{API}/strategies/{STRATEGY}/params"
    async with client(gateway) as http:
        updated = await http.patch(path, json={"parameters": {"slow": "4"}}, headers=TRADER_H)
        assert updated.status_code == 200, updated.text
        agreeing = await http.patch(
            path, json={"strategy_id": STRATEGY, "parameters": {"fast": "3", "slow": "6"}}, headers=TRADER_H
        )
        assert agreeing.status_code == 200, agreeing.text
    assert updated.json()["strategy"]["parameters"]["slow"] == "4"
    listed = await env.stub.strategies.ListStrategies(strategies_pb2.ListStrategiesRequest(), metadata=VIEWER)
    assert agreeing.json()["strategy"] == as_json(listed)["strategies"][0]
    assert {"fast": "3", "slow": "6"}.items() <= dict(listed.strategies[0].parameters).items()


async def test_strategy_parameter_updates_refused(gateway: RunningGateway, env: Env) -> None:
    path = f"{API}/strategies/{STRATEGY}/params"
    bad: list[tuple[str, Any, str]] = [
        (path, {"strategy_id": "other", "parameters": {"slow": "4"}}, "strategy_id"),  # not the path's
        (path, {"parameters": {"fast": "abc"}}, "parameters.fast"),
        (path, {"parameters": {"slow": "0"}}, "parameters.slow"),
        (path, {"parameters": {"fastest": "5"}}, "parameters.fastest"),
        (path, {"parameters": {"fast": "1" * 10_000}}, "parameters.fast"),
        (path, {"parameters": {"fast": 5}}, "parameters"),  # values are strings
        (path, {}, "parameters"),
        (f"{API}/strategies/no pe/params", {"parameters": {"fast": "5"}}, "strategy_id"),
    ]
    async with client(gateway) as http:
        for where, change, field in bad:
            refused = await http.patch(where, json=change, headers=TRADER_H)
            assert_error(refused, 400, "INVALID_ARGUMENT", field)
        unknown = await http.patch(
            f"{API}/strategies/nope/params", json={"parameters": {"fast": "5"}}, headers=TRADER_H
        )
        assert_error(unknown, 404, "NOT_FOUND")
        change = {"parameters": {"slow": "4"}}
        assert_error(await http.patch(path, json=change), 401, "UNAUTHENTICATED")
        assert_error(await http.patch(path, json=change, headers=VIEWER_H), 403, "PERMISSION_DENIED")
    listed = await env.stub.strategies.ListStrategies(strategies_pb2.ListStrategiesRequest(), metadata=VIEWER)
    assert listed.strategies[0].parameters["slow"] == "3"  # nothing changed


async def test_alerts_are_the_active_ones_of_the_status(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        none = await http.get(f"{API}/alerts", headers=VIEWER_H)
        assert none.status_code == 200, none.text
        assert none.json() == {"alerts": []}
        slot = env.app.strategies.slot(STRATEGY)  # a strategy that raised: disabled, with its error
        slot.active, slot.error = False, "ValueError: bad tick"
        env.app.alerts.evaluate()
        alerts = await http.get(f"{API}/alerts", headers=VIEWER_H)
        assert_error(await http.get(f"{API}/alerts"), 401, "UNAUTHENTICATED")
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER)
    assert alerts.json() == {"alerts": [as_json(alert) for alert in status.alerts]}
    assert [(a["name"], a["labels"]) for a in alerts.json()["alerts"]] == [
        ("StrategyDisabled", {"strategy": STRATEGY})
    ]


async def test_every_new_route_wants_a_token(gateway: RunningGateway) -> None:
    routes = [
        ("GET", f"{API}/instruments/{BTC}/quote"),
        ("GET", f"{API}/instruments/{BTC}/book"),
        ("GET", f"{API}/consolidated-quote?base=BTC&quote=USDT"),
        ("PATCH", f"{API}/risk/limits"),
        ("PATCH", f"{API}/strategies/{STRATEGY}/params"),
        ("GET", f"{API}/alerts"),
        ("GET", f"{API}/backtests"),
        ("GET", f"{API}/backtests/{'0' * 32}"),
        ("POST", f"{API}/backtests"),
    ]
    async with client(gateway) as http:
        for method, path in routes:
            assert_error(await http.request(method, path), 401, "UNAUTHENTICATED")
            wrong = {"Authorization": "Bearer wrong-token-0123456789"}
            assert_error(await http.request(method, path, headers=wrong), 401, "UNAUTHENTICATED")


# -- backtests ------------------------------------------------------------------------------------


def _wave_klines(path: Path, bars: int = 400) -> Path:
    hour = 60 * MINUTE
    rows = []
    for i in range(bars):
        mid = 40_000 + 800 * math.sin(i / 40)
        open_, close = round(mid, 2), round(mid + 3 * math.sin(i / 7), 2)
        high, low = max(open_, close) + 5, min(open_, close) - 5
        rows.append(
            kline(T0 + i * hour, f"{open_:.2f},{high:.2f},{low:.2f},{close:.2f}", "12.5", length=hour)
        )
    return write(path, rows)


def _long_trades(path: Path, count: int = 300_000, tail: tuple[str, ...] = ()) -> Path:
    """Enough trades that the run is still going when the test acts on it (it takes over a second)."""
    rows = [
        spot_trade(i + 1, f"{40_000 + 400 * math.sin(i / 300):.2f}", "0.015", T0 + i * 100)
        for i in range(count)
    ]
    return write(path, [*rows, *tail])


@pytest.fixture
def history(tmp_path: Path) -> Path:
    root = tmp_path / "history"
    root.mkdir()
    _wave_klines(root / KLINES)
    return root


@pytest.fixture
def served(loop: asyncio.AbstractEventLoop, start: Starter, history: Path) -> Env:
    return loop.run_until_complete(start(backtest_data_dir=str(history)))


@pytest.fixture
def backtests(loop: asyncio.AbstractEventLoop, served: Env) -> Iterator[RunningGateway]:
    """The gateway in front of ``served``, whose backtest data directory is ``history``."""
    running = loop.run_until_complete(
        asyncio.wait_for(start_gateway("127.0.0.1:0", served.target), TEST_TIMEOUT_S)
    )
    yield running
    loop.run_until_complete(asyncio.wait_for(running.stop(), TEST_TIMEOUT_S))


def run_request(**fields: Any) -> dict[str, Any]:
    return {"data": [KLINES], "strategy": "sma_crossover", "params": PARAMS, **fields}


def stub(env: Env) -> backtest_pb2_grpc.BacktestServiceAsyncStub:
    return backtest_pb2_grpc.BacktestServiceStub(env.stub.channel)


async def grpc_run(env: Env, **fields: Any) -> backtest_pb2.BacktestResult:
    call = stub(env).RunBacktest(backtest_pb2.RunBacktestRequest(**fields), metadata=TRADER, timeout=3 * T)
    messages = [message async for message in call]
    return messages[-1].result


async def stored_runs(env: Env) -> list[str]:
    listed = await stub(env).ListBacktests(backtest_pb2.ListBacktestsRequest(), metadata=VIEWER, timeout=T)
    return [run.run_id for run in listed.runs]


def same_run(result: dict[str, Any]) -> dict[str, Any]:
    """A result without what differs between two runs of the same request (its id, how long it took)."""
    return {key: value for key, value in result.items() if key not in {"run_id", "seconds", "result_json"}}


async def test_a_run_answers_its_result_as_json_and_is_listed_and_read_back(
    backtests: RunningGateway, served: Env
) -> None:
    async with client(backtests) as http:
        ran = await http.post(
            f"{API}/backtests", json=run_request(store=True, capital="5000"), headers=TRADER_H
        )
        assert ran.status_code == 200, ran.text
        result = ran.json()["result"]
        run_id = result["run_id"]
        listed = await http.get(f"{API}/backtests", headers=VIEWER_H)
        only = await http.get(
            f"{API}/backtests", params={"strategy": "sma_crossover", "limit": "1"}, headers=VIEWER_H
        )
        none = await http.get(f"{API}/backtests", params={"strategy": "rsi_mean_reversion"}, headers=VIEWER_H)
        got = await http.get(f"{API}/backtests/{run_id}", headers=VIEWER_H)
    assert set(ran.json()) == {"result"}
    assert len(run_id) == 32
    assert result["metrics"]["starting_capital"] == "5000"
    assert int(result["metrics"]["trade_count"]) > 0
    direct = await grpc_run(served, data=[KLINES], strategy="sma_crossover", params=PARAMS, capital="5000")
    assert same_run(result) == same_run(as_json(direct))

    grpc_listed = await stub(served).ListBacktests(backtest_pb2.ListBacktestsRequest(), metadata=VIEWER)
    grpc_got = await stub(served).GetBacktest(backtest_pb2.GetBacktestRequest(run_id=run_id), metadata=VIEWER)
    assert listed.status_code == got.status_code == 200, got.text
    assert listed.json() == as_json(grpc_listed)
    assert [run["run_id"] for run in listed.json()["runs"]] == [run_id]
    assert [run["run_id"] for run in only.json()["runs"]] == [run_id]
    assert none.json() == {}  # proto3 JSON leaves an empty list out, as gRPC clients see it
    assert got.json() == as_json(grpc_got)
    assert got.json()["metrics"] == result["metrics"]


async def test_a_run_as_server_sent_events(backtests: RunningGateway, served: Env) -> None:
    events: list[Event] = []
    async with (
        client(backtests) as http,
        http.stream("POST", f"{API}/backtests", json=run_request(), headers=SSE_H) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = Reader(response)
        while not events or events[-1].name != "result":
            events.append(await reader.next())
        with pytest.raises(AssertionError, match="ended"):
            await reader.next()  # the stream ends after the result
    names = [event.name for event in events]
    assert names[-1] == "result"
    assert set(names[:-1]) == {"progress"}, names
    last_progress, result = events[-2].data["progress"], events[-1].data["result"]
    assert last_progress["events"] == result["events"] == "400"
    direct = await grpc_run(served, data=[KLINES], strategy="sma_crossover", params=PARAMS)
    assert same_run(result) == same_run(as_json(direct))
    assert served.server.backtest_processes.running == 0


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
async def test_bad_runs_are_http_errors_naming_the_field(
    backtests: RunningGateway, served: Env, history: Path, accept: str
) -> None:
    headers = {**TRADER_H, "Accept": accept}
    bad: list[tuple[Any, str | None]] = [
        (run_request(strategy="moon_phase"), "strategy"),
        (run_request(params={"fast": "50", "slow": "10"}), "params.fast"),
        (run_request(data=[]), "data"),
        (run_request(data=["../BTCUSDT-1m-2024-09.csv"]), "data"),
        (run_request(data=["/etc/passwd"]), "data"),
        (run_request(data=["BTCUSDT-1m-2023-01.csv"]), "data"),
        (run_request(capital="-5"), "capital"),
        (run_request(capital=5000), "capital"),  # money is a decimal string
        (run_request(fraction="0.5", quantity="0.01"), None),  # two of a oneof
        (run_request(colour="red"), "colour"),
        (run_request(data=KLINES), "data"),
        ([run_request()], None),
    ]
    async with client(backtests) as http:
        for request, field in bad:
            refused = await http.post(f"{API}/backtests", json=request, headers=headers)
            assert_error(refused, 400, "INVALID_ARGUMENT", field)
            assert str(history) not in refused.text  # no server paths
        malformed = await http.post(f"{API}/backtests", content=b'{"data": [', headers=headers)
        assert_error(malformed, 400, "INVALID_ARGUMENT")
        assert_error(
            await http.post(f"{API}/backtests", json=run_request(), headers={"Accept": accept}),
            401,
            "UNAUTHENTICATED",
        )
        viewer = await http.post(
            f"{API}/backtests", json=run_request(), headers={**VIEWER_H, "Accept": accept}
        )
        assert_error(viewer, 403, "PERMISSION_DENIED")
    assert served.server.backtest_processes.running == 0


async def test_a_failure_after_the_first_message_is_an_error_event(
    backtests: RunningGateway, served: Env, history: Path
) -> None:
    _long_trades(history / TRADES, 20_000, tail=("20001,NaN,0.015,0,1704067300000,True,True",))
    async with (
        client(backtests) as http,
        http.stream(
            "POST", f"{API}/backtests", json=run_request(data=[TRADES], store=True), headers=SSE_H
        ) as response,
    ):
        assert response.status_code == 200, await response.aread()
        failed = await Reader(response).until(lambda event: event.name != "progress")
    assert failed.name == "error"
    assert failed.data["error"]["code"] == "INVALID_ARGUMENT"
    assert failed.data["error"]["field"] == "data"
    assert "line 20001" in failed.data["error"]["message"]
    await wait_until(lambda: served.server.backtest_processes.running == 0)


async def test_stored_runs_unknown_or_malformed(backtests: RunningGateway) -> None:
    async with client(backtests) as http:
        unknown = await http.get(f"{API}/backtests/{'0' * 32}", headers=VIEWER_H)
        malformed = await http.get(f"{API}/backtests/..%2F..%2Fetc", headers=VIEWER_H)
        not_hex = await http.get(f"{API}/backtests/{'z' * 32}", headers=VIEWER_H)
        too_many = await http.get(f"{API}/backtests", params={"limit": "5000"}, headers=VIEWER_H)
        not_a_number = await http.get(f"{API}/backtests", params={"limit": "all"}, headers=VIEWER_H)
        unknown_param = await http.get(f"{API}/backtests", params={"run_id": "x"}, headers=VIEWER_H)
    assert_error(unknown, 404, "NOT_FOUND")
    assert "0" * 32 in unknown.json()["error"]["message"]
    assert malformed.status_code in {400, 404}, malformed.text  # never a file of the server
    assert_error(not_hex, 400, "INVALID_ARGUMENT", "run_id")
    assert_error(too_many, 400, "INVALID_ARGUMENT", "limit")
    assert_error(not_a_number, 400, "INVALID_ARGUMENT", "limit")
    assert_error(unknown_param, 400, "INVALID_ARGUMENT", "run_id")


async def test_a_client_that_leaves_a_json_run_stops_it(
    backtests: RunningGateway, served: Env, history: Path
) -> None:
    _long_trades(history / TRADES)
    async with client(backtests) as http:
        posting = asyncio.ensure_future(
            http.post(f"{API}/backtests", json=run_request(data=[TRADES], store=True), headers=TRADER_H)
        )
        await wait_until(lambda: served.server.backtest_processes.running == 1)
        assert not posting.done()
        posting.cancel()  # the connection closes with the request unanswered
        await wait_until(lambda: served.server.backtest_processes.running == 0)
        assert await stored_runs(served) == []  # stopped, not finished
        status = await http.get(f"{API}/status", headers=VIEWER_H)
        assert status.status_code == 200, status.text


async def test_a_client_that_leaves_the_events_stops_the_run(
    backtests: RunningGateway, served: Env, history: Path
) -> None:
    _long_trades(history / TRADES)
    async with client(backtests) as http:
        async with http.stream(
            "POST", f"{API}/backtests", json=run_request(data=[TRADES], store=True), headers=SSE_H
        ) as response:
            assert response.status_code == 200, await response.aread()
            first = await Reader(response).next()
            assert first.name == "progress"
            assert served.server.backtest_processes.running == 1
        await wait_until(lambda: served.server.backtest_processes.running == 0)
        assert await stored_runs(served) == []  # stopped, not finished


async def test_stopping_the_gateway_ends_a_run_with_an_error_event(start: Starter, history: Path) -> None:
    _long_trades(history / TRADES)
    env = await start(backtest_data_dir=str(history))
    gateway = await asyncio.wait_for(start_gateway("127.0.0.1:0", env.target), TEST_TIMEOUT_S)
    try:
        async with (
            client(gateway) as http,
            http.stream(
                "POST", f"{API}/backtests", json=run_request(data=[TRADES], store=True), headers=SSE_H
            ) as response,
        ):
            assert response.status_code == 200, await response.aread()
            events = Reader(response)
            assert (await events.next()).name == "progress"
            stopping = asyncio.ensure_future(gateway.stop())
            ended = await events.until(lambda event: event.name == "error")
            await asyncio.wait_for(stopping, T)
        assert ended.data["error"]["reason"] == "STREAM_ENDED"
        await wait_until(lambda: env.server.backtest_processes.running == 0)
        assert await stored_runs(env) == []  # stopped, not finished
    finally:
        await gateway.stop()


# -- the equity curve -------------------------------------------------------------------------------


async def test_the_equity_history_is_the_grpc_answer(gateway: RunningGateway, env: Env) -> None:
    env.app.risk.mark_to_market(env.app.clock.now_ns())
    expected = await env.stub.portfolio.GetEquityHistory(
        portfolio_pb2.GetEquityHistoryRequest(), metadata=VIEWER, timeout=T
    )
    async with client(gateway) as http:
        answer = await http.get(f"{API}/account/equity-history", headers=VIEWER_H)
        assert answer.status_code == 200, answer.text
        assert answer.json() == as_json(expected)
        assert answer.json()["points"]
        last = answer.json()["points"][-1]["time"]
        later = await http.get(f"{API}/account/equity-history", params={"since": last}, headers=VIEWER_H)
        assert later.status_code == 200
        assert "points" not in later.json()
        for params, field in (({"since": "yesterday"}, "since"), ({"step": "5"}, "step")):
            refused = await http.get(f"{API}/account/equity-history", params=params, headers=VIEWER_H)
            assert_error(refused, 400, "INVALID_ARGUMENT", field=field)
        anonymous = await http.get(f"{API}/account/equity-history")
        assert_error(anonymous, 401, "UNAUTHENTICATED")
