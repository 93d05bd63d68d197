"""BacktestService over a real loopback server: runs streamed from a process of their own,
every bad input refused naming its field, data paths confined to the data directory, roles,
and stored runs listed and read back."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from tradeplane.v1 import backtest_pb2, backtest_pb2_grpc

from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestSpec
from tests.integration.grpc.support import (
    CALL_TIMEOUT_S,
    TRADER,
    VIEWER,
    Env,
    assert_invalid,
    refusal,
    refused,
    wait_until,
)
from tests.unit.adapters.historical.files import MINUTE, T0, kline, spot_trade, write

T = CALL_TIMEOUT_S
Starter = Callable[..., Coroutine[Any, Any, Env]]
KLINES = "BTCUSDT-1h-2024-01.csv"
HOUR = 60 * MINUTE
PARAMS = {"fast": "5", "slow": "20"}


def _wave_klines(path: Path, bars: int = 800) -> Path:
    rows = []
    for i in range(bars):
        mid = 40_000 + 800 * math.sin(i / 40)
        open_, close = round(mid, 2), round(mid + 3 * math.sin(i / 7), 2)
        high, low = max(open_, close) + 5, min(open_, close) - 5
        ohlc = f"{open_:.2f},{high:.2f},{low:.2f},{close:.2f}"
        rows.append(kline(T0 + i * HOUR, ohlc, "12.5", length=HOUR))
    return write(path, rows)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """The server's backtest data directory, with a month of hourly bars that trade."""
    root = tmp_path / "history"
    root.mkdir()
    _wave_klines(root / KLINES)
    return root


@pytest.fixture
def served(loop: asyncio.AbstractEventLoop, start: Starter, history: Path) -> Env:
    return loop.run_until_complete(start(backtest_data_dir=str(history)))


def stub(env: Env) -> backtest_pb2_grpc.BacktestServiceStub:
    return backtest_pb2_grpc.BacktestServiceStub(env.stub.channel)


def request(**fields: Any) -> backtest_pb2.RunBacktestRequest:
    values: dict[str, Any] = {"data": [KLINES], "strategy": "sma_crossover", "params": PARAMS}
    values.update(fields)
    return backtest_pb2.RunBacktestRequest(**values)


async def run(env: Env, req: backtest_pb2.RunBacktestRequest, metadata: Any = TRADER) -> list[Any]:
    """Every message of a RunBacktest stream, until it ends."""
    call = stub(env).RunBacktest(req, metadata=metadata, timeout=3 * T)
    return [message async for message in call]


async def test_a_run_streams_progress_then_one_result_matching_a_direct_run(
    served: Env, history: Path
) -> None:
    messages = await run(served, request(capital="5000", fees_bps="5"))

    kinds = [m.WhichOneof("event") for m in messages]
    assert kinds[-1] == "result"
    assert kinds.count("result") == 1
    assert set(kinds[:-1]) == {"progress"}
    result = messages[-1].result
    progress = messages[-2].progress
    assert progress.events == result.events == 800
    assert progress.replayed_time == result.last_event_time

    direct = run_backtest(
        BacktestSpec(
            data=(str(history / KLINES),),
            strategy="sma_crossover",
            params=PARAMS,
            capital=Decimal("5000"),
            fees_bps=Decimal("5"),
        )
    )
    expected = direct.metrics.as_dict(trades=False)
    metrics = result.metrics
    assert metrics.total_return == expected["total_return"]
    assert metrics.final_equity == expected["final_equity"]
    assert metrics.starting_capital == "5000"
    assert metrics.trade_count == expected["trade_count"] > 0
    assert metrics.HasField("sharpe_ratio")
    assert metrics.sharpe_ratio == expected["sharpe_ratio"]
    assert metrics.max_drawdown == expected["max_drawdown"]
    assert result.fills == len(direct.result.fills)
    assert result.run_id == ""  # not stored
    assert result.instrument_id == "BTCUSDT.BINANCE"
    assert dict(result.params) == {**PARAMS, "source": "bar"}
    assert list(result.data) == [KLINES]
    document = json.loads(result.result_json)
    assert document["data"] == [KLINES]  # the server's own paths are not shown
    assert len(document["metrics"]["trades"]) == metrics.trade_count
    assert await stub(served).ListBacktests(
        backtest_pb2.ListBacktestsRequest(), metadata=TRADER, timeout=T
    ) == (backtest_pb2.ListBacktestsResponse())


async def test_a_stored_run_is_listed_and_read_back(served: Env) -> None:
    first = (await run(served, request(store=True)))[-1].result
    second = (await run(served, request(store=True, strategy="rsi_mean_reversion", params={})))[-1].result
    backtests = stub(served)

    listed = await backtests.ListBacktests(backtest_pb2.ListBacktestsRequest(), metadata=VIEWER, timeout=T)
    only_sma = await backtests.ListBacktests(
        backtest_pb2.ListBacktestsRequest(strategy="sma_crossover", limit=5), metadata=VIEWER, timeout=T
    )
    got = await backtests.GetBacktest(
        backtest_pb2.GetBacktestRequest(run_id=first.run_id), metadata=VIEWER, timeout=T
    )

    assert len(first.run_id) == 32
    assert [run.run_id for run in listed.runs] == [second.run_id, first.run_id]
    assert [run.run_id for run in only_sma.runs] == [first.run_id]
    summary = got.summary
    assert summary.strategy == "sma_crossover"
    assert dict(summary.params) == {**PARAMS, "source": "bar"}
    assert list(summary.data) == [KLINES]
    assert summary.events == 800
    assert summary.total_return == first.metrics.total_return
    assert summary.sharpe_ratio == first.metrics.sharpe_ratio
    assert summary.trade_count == first.metrics.trade_count
    assert summary.first_event_time == first.first_event_time
    assert got.metrics == first.metrics
    trades = json.loads(got.trades_json)
    assert len(trades) == first.metrics.trade_count
    assert set(trades[0]) >= {"side", "entry_price", "exit_price", "net_pnl"}
    assert json.loads(got.metrics_json)["total_return"] == first.metrics.total_return


async def test_an_unknown_or_malformed_run_id_is_refused(served: Env) -> None:
    backtests = stub(served)
    missing = await refused(
        backtests.GetBacktest(backtest_pb2.GetBacktestRequest(run_id="0" * 32), metadata=VIEWER, timeout=T)
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    assert "0" * 32 in missing.message
    assert_invalid(
        await refused(
            backtests.GetBacktest(backtest_pb2.GetBacktestRequest(run_id="../x"), metadata=VIEWER, timeout=T)
        ),
        "run_id",
    )
    assert_invalid(
        await refused(
            backtests.ListBacktests(backtest_pb2.ListBacktestsRequest(limit=5000), metadata=VIEWER, timeout=T)
        ),
        "limit",
    )


def _bad_files(history: Path) -> None:
    outside = write(history.parent / "BTCUSDT-1m-2024-09.csv", [kline(T0, "1,2,0.5,1.5")])
    (history / "BTCUSDT-1m-2024-08.csv").symlink_to(outside)
    (history / "BTCUSDT-1m-2024-02.csv").write_text("")
    write(history / "BTCUSDT-1m-2024-03.csv", [kline(T0, "1,2,0.5,1.5"), kline(T0 + MINUTE, "NaN,1,1,1")])
    (history / "sub").mkdir()


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"strategy": "moon_phase"}, "strategy", "moon_phase"),
    ({"strategy": ""}, "strategy", "required"),
    ({"params": {"fast": "50", "slow": "10"}}, "params.fast", "less than slow"),
    ({"params": {"speed": "3"}}, "params.speed", "not a parameter"),
    ({"params": {"fast": "5..10:1"}}, "params.fast", "one value per run"),
    ({"data": []}, "data", "at least one"),
    ({"data": ["BTCUSDT-1m-2023-01.csv"]}, "data", "no such file"),
    ({"data": ["../BTCUSDT-1m-2024-09.csv"]}, "data", "'..'"),
    ({"data": ["/etc/passwd"]}, "data", "absolute"),
    ({"data": ["BTCUSDT-1m-2024-08.csv"]}, "data", "outside the server's backtest data directory"),
    ({"data": ["sub"]}, "data", "not a file"),
    ({"data": ["BTCUSDT-1m-2024-02.csv"]}, "data", "BTCUSDT-1m-2024-02.csv: "),
    ({"data": ["BTCUSDT-1m-2024-03.csv"]}, "data", "BTCUSDT-1m-2024-03.csv, line 2"),
    ({"capital": "-5"}, "capital", "positive"),
    ({"fees_bps": "ten"}, "fees_bps", "number"),
    ({"quantity": "0"}, "quantity", "positive"),
    ({"instrument_id": "nonsense"}, "instrument_id", ""),
]


@pytest.mark.parametrize(("fields", "field", "words"), BAD, ids=[f"{b[1]}-{b[2][:20]}" for b in BAD])
async def test_bad_input_is_refused_naming_the_field(
    served: Env, history: Path, fields: dict[str, Any], field: str, words: str
) -> None:
    _bad_files(history)
    call = stub(served).RunBacktest(request(**fields), metadata=TRADER, timeout=T)

    seen: list[Any] = []

    async def drain() -> None:
        async for message in call:
            seen.append(message)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await drain()
    refused_ = refusal(caught.value)

    assert_invalid(refused_, field)
    assert words in refused_.message
    assert str(history) not in refused_.message  # no server paths in refusals
    assert all(message.WhichOneof("event") == "progress" for message in seen), seen
    assert served.server.backtest_processes.running == 0


async def test_a_viewer_lists_but_may_not_run(served: Env) -> None:
    call = stub(served).RunBacktest(request(), metadata=VIEWER, timeout=T)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.details() == "token 'viewer' has role viewer; RunBacktest needs trader"
    listed = await stub(served).ListBacktests(backtest_pb2.ListBacktestsRequest(), metadata=VIEWER, timeout=T)
    assert list(listed.runs) == []


async def test_a_busy_server_refuses_more_runs(served: Env) -> None:
    served.server.backtest_processes.limit = 0
    call = stub(served).RunBacktest(request(), metadata=TRADER, timeout=T)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry" in (caught.value.details() or "")


async def test_a_missing_data_directory_is_a_failed_precondition(start: Starter, tmp_path: Path) -> None:
    env = await start(backtest_data_dir=str(tmp_path / "nowhere"))
    call = stub(env).RunBacktest(request(), metadata=TRADER, timeout=T)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "backtest_data_dir" in (caught.value.details() or "")


async def test_cancelling_a_run_stops_its_process(served: Env, history: Path) -> None:
    rows = [
        spot_trade(i + 1, f"{40_000 + 400 * math.sin(i / 300):.2f}", "0.015", T0 + i * 100)
        for i in range(60_000)
    ]
    write(history / "BTCUSDT-trades-2024-01.csv", rows)
    call = stub(served).RunBacktest(request(data=["BTCUSDT-trades-2024-01.csv"]), metadata=TRADER)

    first = await asyncio.wait_for(call.read(), T)
    assert first.WhichOneof("event") == "progress"
    assert served.server.backtest_processes.running == 1
    call.cancel()

    await wait_until(lambda: served.server.backtest_processes.running == 0)
