"""One backtest in a process of its own, reporting progress and its result over a pipe.

A replay is pure Python and CPU-bound: on a thread it would hold the GIL the engine's event
loop needs (the loop then stalls for the interpreter's switch interval, 5 ms, again and
again: measured in docs/grpc.md), so each run gets a process. Processes come from a
``forkserver`` (started once, with the backtest code imported in advance): a fork of the
gRPC process itself is unsafe (gRPC's threads), and a fresh ``spawn`` would re-import
everything at every run. The child sends ``Progress`` a few times a second and then one
``Finished`` or ``Failed``; the parent reads the pipe on a thread and never blocks its loop.
Cancelling the reader (the client went away) kills the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
import time
import traceback
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from application.backtest import BacktestProgress
from application.ports import BacktestRecord
from entrypoints.backtest.outcome import outcome_json
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestError, BacktestSpec

PROGRESS_EVERY = 10_000
"""Events between two progress checks in the child."""
PROGRESS_INTERVAL_S = 0.25
"""At most this often a progress message is sent (the last one always is)."""
PRELOAD = ["entrypoints.grpc.backtest_worker", "entrypoints.backtest.stored_runs", "entrypoints.container"]
"""What the forkserver imports once, so a run's process starts in milliseconds."""
JOIN_S = 5.0


@dataclass(frozen=True, slots=True)
class Progress:
    events: int
    ts_event: int


@dataclass(frozen=True, slots=True)
class Finished:
    """The run's stored form (not stored yet) and ``tradeplane backtest --json``'s document."""

    record: BacktestRecord
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    """``BacktestError`` (``bug`` False: the input's fault) or anything else (a bug)."""

    message: str
    field: str | None
    problem: str
    bug: bool = False


Message = Progress | Finished | Failed


def _child(spec: BacktestSpec, connection: Connection) -> None:
    """The process's body: run, report, exit. Never raises (the parent hears of everything)."""
    last = 0.0

    def progress(report: BacktestProgress) -> None:
        nonlocal last
        now = time.monotonic()
        if report.done or now - last >= PROGRESS_INTERVAL_S:
            last = now
            connection.send(Progress(report.events, report.ts_event))

    try:
        from entrypoints.backtest.stored_runs import record_of

        outcome = run_backtest(spec, progress=progress, progress_every=PROGRESS_EVERY)
        message: Message = Finished(record_of(outcome), outcome_json(outcome))
    except BacktestError as error:
        message = Failed(str(error), error.field, error.problem)
    except BaseException as error:  # a bug: the parent logs it
        message = Failed(f"{type(error).__name__}: {error}\n{traceback.format_exc()}", None, "", bug=True)
    try:
        connection.send(message)
    except OSError:  # the parent left (its call was cancelled): there is nobody left to tell
        pass
    finally:
        connection.close()


class BacktestProcesses:
    """Runs backtests in child processes, at most ``limit`` at once."""

    def __init__(self, limit: int = 2) -> None:
        self.limit = limit
        self.running = 0
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)  # used when the forkserver starts (first run)

    @property
    def full(self) -> bool:
        return self.running >= self.limit

    async def run(self, spec: BacktestSpec) -> AsyncGenerator[Message, None]:
        """Start ``spec`` in a process and yield what it reports; the last message is a
        ``Finished`` or a ``Failed``. Leaving early (the call was cancelled) kills the process."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child, args=(spec, sender), name="tradeplane-backtest", daemon=True
        )
        self.running += 1
        reading = False
        try:
            try:
                await asyncio.to_thread(process.start)  # the forkserver's first start takes a while
            finally:
                sender.close()  # the child holds the write end now: the pipe ends when it exits
            threading.Thread(
                target=_read, args=(receiver, loop, inbox), name="tradeplane-backtest-reader", daemon=True
            ).start()
            reading = True  # the reader closes the receiving end
            while True:
                message = await inbox.get()
                if message is None:
                    await asyncio.to_thread(process.join, JOIN_S)
                    code = process.exitcode
                    yield Failed(
                        f"the backtest process ended without a result (exit code {code})", None, "", bug=True
                    )
                    return
                yield message
                if not isinstance(message, Progress):
                    return
        finally:
            try:
                if process.is_alive():
                    process.kill()
                if not reading:
                    receiver.close()
                if process.pid is not None:
                    await asyncio.to_thread(process.join, JOIN_S)
            finally:
                self.running -= 1  # only once the process is gone


def _read(
    receiver: Connection, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Message | None]
) -> None:
    """The reader thread: every message onto ``inbox`` (None at the end of the pipe)."""
    try:
        while True:
            try:
                message: Message | None = receiver.recv()
            except (EOFError, OSError):
                message = None
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                loop.call_soon_threadsafe(inbox.put_nowait, message)
            if not isinstance(message, Progress):
                return
    finally:
        receiver.close()
