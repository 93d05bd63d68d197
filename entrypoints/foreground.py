"""Run an engine in the foreground: status lines, clean stop on SIGINT/SIGTERM, a summary."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import reduce
from typing import TextIO

from application.engine import Engine, EngineStatus
from domain.values import exact_add, plain


def _money(value: Decimal | None, places: str = "0.01") -> str:
    if value is None:
        return "n/a"
    return f"{value.quantize(Decimal(places)):+,}"


def _plain(value: Decimal | None) -> str:
    """A decimal without trailing zeros or exponent: 29999.92, 0.05, 30000."""
    return "n/a" if value is None else plain(value)


def status_line(status: EngineStatus) -> str:
    """One line an operator can watch scroll: price, position, P&L, orders, fills, feed health."""
    parts = [time.strftime("%H:%M:%S")]
    for instrument_id, price in status.last_prices.items():
        parts.append(f"{instrument_id.split('.')[0]} {_plain(price)}")
    for position in status.positions:
        if position.quantity:
            avg = _money(position.avg_entry_price).lstrip("+")
            parts.append(f"pos {_plain(position.quantity)} @ {avg}")
    realized, fees, unrealized = pnl(status)
    parts.append(
        f"P&L realized {_money(realized)} fees {_money(fees).lstrip('+')}"
        f" net {_money(realized - fees)} unrealized {_money(unrealized)}"
    )
    parts.append(f"equity {_money(status.equity).lstrip('+')}")
    parts.append(
        f"since start: orders {status.orders_submitted} fills {status.fills}"
        f" rejected {status.risk_rejections} | open {status.open_orders}"
    )
    feeds = []
    for feed in status.feeds:
        state = "up" if feed.connected else "DOWN"
        line = f"{feed.name} {state} msgs {feed.messages} reconnects {feed.reconnects} gaps {feed.gaps}"
        if not feed.connected and feed.last_error:
            error = feed.last_error
            line += f" ({error if len(error) <= 100 else '…' + error[-99:]})"
        feeds.append(line)
    parts.extend(feeds)
    for data in status.instruments:  # the same test as the risk guard's: no new order passes on these
        if not data.usable:
            problem = data.problem if len(data.problem) <= 100 else data.problem[:99] + "…"
            parts.append(f"{data.instrument_id.split('.')[0]} data UNUSABLE ({problem})")
    broker = status.broker
    if broker is not None:
        line = f"broker {broker.name} {'up' if broker.connected else 'DOWN'}"
        if broker.requests_in_flight:
            line += f" in flight {broker.requests_in_flight}"
        if broker.unknown_outcomes:
            line += f" unknown {broker.unknown_outcomes}"
        if broker.rate_limited:
            line += f" rate-limited {broker.rate_limited}"
        parts.append(line)
    if status.trading_state.value != "ACTIVE":
        parts.append(f"{status.trading_state.value}: {status.trading_reason}")
    return " | ".join(parts)


def pnl(status: EngineStatus) -> tuple[Decimal, Decimal, Decimal]:
    """Realized P&L before fees, fees, and unrealized P&L, over every position (net is
    realized minus fees): one definition for the status line and the summary."""
    positions = status.positions
    realized = reduce(exact_add, (p.realized_pnl for p in positions), Decimal(0))
    fees = reduce(exact_add, (p.fees for p in positions), Decimal(0))
    unrealized = reduce(exact_add, (p.unrealized_pnl or Decimal(0) for p in positions), Decimal(0))
    return realized, fees, unrealized


def summary(status: EngineStatus) -> str:
    realized, fees, unrealized = pnl(status)
    lines = [
        "summary:",
        "  since this start:",
        f"  trades seen      {status.trades_seen}",
        f"  signals          {status.signals}",
        f"  orders submitted {status.orders_submitted}",
        f"  fills            {status.fills}",
        f"  risk rejections  {status.risk_rejections}",
        "  the account (carried across restarts):",
        f"  equity           {_money(status.equity).lstrip('+')}",
        f"  realized P&L     {_money(realized)} before fees",
        f"  fees             {_money(fees).lstrip('+')}",
        f"  net realized     {_money(realized - fees)}",
        f"  unrealized P&L   {_money(unrealized)}",
        f"  trading state    {status.trading_state.value}",
    ]
    for position in status.positions:
        lines.append(
            f"  {position.instrument_id}: qty {_plain(position.quantity)}"
            f" realized {_money(position.realized_pnl)} fees {_money(position.fees).lstrip('+')}"
            f" net {_money(position.realized_pnl - position.fees)}"
            f" unrealized {_money(position.unrealized_pnl)}"
        )
    return "\n".join(lines)


async def run_engine(
    engine: Engine,
    *,
    duration: float | None,
    status_interval: float,
    cancel_open_orders: bool,
    out: TextIO | None = None,
    before_stop: Callable[[], Awaitable[None]] | None = None,
) -> EngineStatus:
    """Start ``engine``, print a status line every ``status_interval`` s until ``duration``
    elapses or SIGINT/SIGTERM arrives, then stop it cleanly and return the final status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await engine.start()
    started = time.monotonic()
    try:
        while not stop.is_set():
            remaining = None if duration is None else duration - (time.monotonic() - started)
            if remaining is not None and remaining <= 0:
                break
            timeout = status_interval if remaining is None else min(status_interval, remaining)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout)
            print(status_line(engine.status()), file=out, flush=True)
            engine.snapshot_account()  # the live equity curve, one point per status line
    finally:
        if before_stop is not None:
            await before_stop()
        await engine.stop(cancel_open_orders=cancel_open_orders)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    final = engine.status()
    print(summary(final), file=out, flush=True)
    return final
