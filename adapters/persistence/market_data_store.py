"""The market-data store on SQL: trades, quotes and bars written in batches by a writer thread.

``append`` is on the per-tick path and never waits on the database: events are buffered
and every ``batch_size`` events (or ``flush_interval_s``) the batch is handed to a writer
thread through a bounded queue. If the database falls so far behind that the queue is full,
the batch is dropped and counted (``dropped``), never allowed to stall ingestion. A crash
loses at most what is buffered or queued; ``flush`` (graceful stop) writes it all.

Market data should have a database file of its own under SQLite: SQLite has one writer per
file, and a batch insert would otherwise hold up the order journal's commits.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy.engine import Engine

from adapters.persistence import schema as s
from adapters.persistence.raw_sql import Dialect, execute_rows
from domain.market_data import Bar, MarketEvent, QuoteTick, TradeTick

log = logging.getLogger("tradeplane.persistence.market_data")


class SqlMarketDataRepository:
    """``MarketDataRepository``: batched, off the event loop, bounded."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 2000,
        flush_interval_s: float = 1.0,
        max_queued_batches: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1 or max_queued_batches < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size, max_queued_batches and flush_interval_s must be positive")
        self._engine = engine
        self._dialect = Dialect(engine.dialect.name)
        self._sql_trade = self._dialect.insert_rows(s.trades)
        self._sql_quote = self._dialect.insert_rows(s.quotes)
        self._sql_bar = self._dialect.insert_rows(s.bars)
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._monotonic = monotonic
        self._buffer: list[MarketEvent] = []
        self._due = monotonic() + flush_interval_s
        self._queue: queue.Queue[list[MarketEvent] | None] = queue.Queue(max_queued_batches)
        self._writer: threading.Thread | None = None
        self._connection: Any = None
        """The writer thread's driver connection, kept between batches (a pool checkout and
        its liveness ping per batch cost the thread, and the GIL, more than the insert's Python)."""
        self.written = 0
        self.ignored = 0
        self.dropped = 0
        self.dropped_batches = 0
        self.failed = 0
        self.failed_batches = 0
        self.last_write_ok = True
        """False from a batch the database refused until the next one is written."""
        self.last_error = ""
        self.on_written: Callable[[int], None] | None = None
        """Told how long each batch took to write, in nanoseconds (from the writer thread)."""

    @property
    def backlog(self) -> int:
        """Batches handed to the writer thread and not written yet."""
        return self._queue.qsize()

    def append(self, event: MarketEvent) -> None:
        buffer = self._buffer
        buffer.append(event)
        if len(buffer) >= self._batch_size or self._monotonic() >= self._due:
            self._hand_over()

    def _hand_over(self, *, wait: bool = False) -> None:
        batch, self._buffer = self._buffer, []
        self._due = self._monotonic() + self._interval
        if not batch:
            return
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="market-data-writer", daemon=True)
            self._writer.start()
        try:
            self._queue.put(batch, block=wait)  # only flush waits for room: append never does
        except queue.Full:
            self.dropped += len(batch)
            self.dropped_batches += 1
            log.error("market-data store is behind: dropped a batch of %d events", len(batch))

    def flush(self) -> None:
        """Write everything buffered and queued, and wait until it is in the database."""
        self._hand_over(wait=True)
        if self._writer is not None:
            self._queue.join()

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=30)
            self._writer = None

    def _write_loop(self) -> None:
        try:
            while True:
                batch = self._queue.get()
                try:
                    if batch is None:
                        return
                    self._write(batch)
                finally:
                    self._queue.task_done()
        finally:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None

    def _write(self, batch: list[MarketEvent]) -> None:
        started = time.perf_counter_ns()
        try:
            statements = self._rows(batch)
            connection = self._connection
            if connection is None:
                connection = self._connection = self._engine.raw_connection()
            try:
                execute_rows(connection, self._dialect, statements)
                connection.commit()
            except Exception:
                self._connection = None
                with contextlib.suppress(Exception):
                    connection.invalidate()  # a broken connection is not reused
                raise
        except Exception as error:  # a writer thread must not die: count, log, go on
            self.failed += len(batch)
            self.failed_batches += 1
            self.last_write_ok = False
            self.last_error = f"{type(error).__name__}: {error}"
            log.exception("market-data batch of %d events not written", len(batch))
            return
        self.last_write_ok = True
        observe = self.on_written
        if observe is not None:
            observe(time.perf_counter_ns() - started)
        rows = sum(len(table_rows) for _, table_rows in statements)
        self.written += rows  # rows stored: trades, quotes and bars (other events are not kept)
        self.ignored += len(batch) - rows

    def _rows(self, batch: list[MarketEvent]) -> tuple[tuple[str, list[tuple[Any, ...]]], ...]:
        """The batch as rows per table; a value that is not a finite Decimal refuses the batch."""
        dec = self._dialect.decimal
        trades: list[tuple[Any, ...]] = []
        quotes: list[tuple[Any, ...]] = []
        bars: list[tuple[Any, ...]] = []
        for event in batch:
            kind = type(event)
            if kind is TradeTick:
                iid, price, size, aggressor, trade_id, ts_event, ts_init = cast(TradeTick, event)
                trades.append((iid, trade_id, dec(price), dec(size), int(aggressor), ts_event, ts_init))
            elif kind is QuoteTick:
                iid, bid, bid_size, ask, ask_size, ts_event, ts_init = cast(QuoteTick, event)
                quotes.append((iid, dec(bid), dec(bid_size), dec(ask), dec(ask_size), ts_event, ts_init))
            elif kind is Bar:
                iid, open_, high, low, close, volume, interval, ts_event, ts_init = cast(Bar, event)
                bars.append(
                    (
                        iid,
                        interval,
                        dec(open_),
                        dec(high),
                        dec(low),
                        dec(close),
                        dec(volume),
                        ts_event,
                        ts_init,
                    )
                )
        return ((self._sql_trade, trades), (self._sql_quote, quotes), (self._sql_bar, bars))
