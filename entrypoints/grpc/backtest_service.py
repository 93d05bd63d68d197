"""BacktestService: run a backtest on history files kept on the server, list and get stored runs.

A run is checked here (every field, the data paths confined to the backtest data directory),
then replayed in a process of its own (``backtest_worker``) while this handler only relays its
progress: the engine's loop goes on trading. Stored runs are read and written on a worker
thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import backtest_pb2, backtest_pb2_grpc

from application.ports import BacktestResults
from entrypoints.grpc import backtest_mapping, mapping
from entrypoints.grpc.backtest_worker import BacktestProcesses, Failed, Progress
from entrypoints.grpc.errors import ApiError, not_found, server_stream, unary

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
log = logging.getLogger("tradeplane.grpc")


class BacktestService(backtest_pb2_grpc.BacktestServiceServicer):
    def __init__(self, results: BacktestResults, data_dir: Path, processes: BacktestProcesses) -> None:
        self._results = results
        self._data_dir = data_dir
        self._processes = processes

    @server_stream
    async def RunBacktest(
        self, request: backtest_pb2.RunBacktestRequest, context: Ctx
    ) -> AsyncIterator[backtest_pb2.RunBacktestResponse]:
        spec = backtest_mapping.spec_from_request(request, self._data_dir)
        processes = self._processes
        if processes.full:
            raise ApiError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{processes.running} backtests are running, the most this server runs at once;"
                " retry when one has finished",
                reason="BACKTESTS_BUSY",
            )
        async with contextlib.aclosing(processes.run(spec)) as messages:
            async for message in messages:
                if isinstance(message, Progress):
                    progress = backtest_pb2.BacktestProgress(
                        events=message.events, replayed_time=mapping.timestamp(message.ts_event)
                    )
                    yield backtest_pb2.RunBacktestResponse(progress=progress)
                elif isinstance(message, Failed):
                    if message.bug:
                        log.error(
                            "backtest %s on %s failed unexpectedly: %s",
                            spec.strategy,
                            spec.data,
                            message.message,
                        )
                        raise ApiError(
                            grpc.StatusCode.INTERNAL,
                            "internal error in RunBacktest: the run failed unexpectedly",
                        )
                    raise backtest_mapping.refusal(message.field, message.problem, self._data_dir)
                else:
                    record = message.record
                    run_id = await asyncio.to_thread(self._results.save, record) if request.store else ""
                    document = {**message.document, "data": list(request.data)}
                    result = backtest_mapping.result_to_proto(
                        record, document, run_id, request.data, json.dumps(document)
                    )
                    yield backtest_pb2.RunBacktestResponse(result=result)

    @unary
    async def ListBacktests(
        self, request: backtest_pb2.ListBacktestsRequest, context: Ctx
    ) -> backtest_pb2.ListBacktestsResponse:
        limit = backtest_mapping.limit(request.limit)
        strategy = backtest_mapping.strategy_filter(request.strategy)
        records = await asyncio.to_thread(self._results.list, strategy=strategy, limit=limit)
        return backtest_pb2.ListBacktestsResponse(
            runs=[backtest_mapping.summary_to_proto(r) for r in records]
        )

    @unary
    async def GetBacktest(
        self, request: backtest_pb2.GetBacktestRequest, context: Ctx
    ) -> backtest_pb2.GetBacktestResponse:
        run_id = backtest_mapping.run_id(request.run_id)
        record = await asyncio.to_thread(self._results.get, run_id)
        if record is None:
            raise not_found(f"no stored backtest run {run_id}")
        return backtest_pb2.GetBacktestResponse(
            summary=backtest_mapping.summary_to_proto(record),
            metrics=backtest_mapping.metrics_to_proto(record.metrics),
            metrics_json=json.dumps(dict(record.metrics)),
            trades_json=json.dumps([dict(trade) for trade in record.trades]),
        )
