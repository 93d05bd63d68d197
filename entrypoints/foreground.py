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
from domain.consolidated_quote import ConsolidatedQuote
from domain.values import exact_add, plain
from entrypoints.logs import Console, clock


def _money(value: Decimal | None, places: str = "0.01") -> str:
    if value is None:
        return "n/a"
    return f"{value.quantize(Decimal(places)):+,}"


def _plain(value: Decimal | None) -> str:
    """A decimal without trailing zeros or exponent: 29999.92, 0.05, 30000."""
    return "n/a" if value is None else plain(value)


def _labeller(status: EngineStatus) -> Callable[[str], str]:
    """Instruments by symbol alone while one venue is watched; by ``SYMBOL.VENUE`` once several
    are, where BTC-USD on two venues would otherwise read the same."""
    ids = {*status.last_prices, *(d.instrument_id for d in status.instruments)}
    if len({instrument_id.rpartition(".")[2] for instrument_id in ids}) > 1:
        return str
    return lambda instrument_id: instrument_id.split(".")[0]


def _consolidated(view: ConsolidatedQuote) -> str:
    """``BTC/USDT best bid 100 KRAKEN ask 101 COINBASE``: where to sell and where to buy now."""
    bid, ask = view.best_bid, view.best_ask
    bid_text = "-" if bid is None else f"{_plain(bid.price)} {bid.venue}"
    ask_text = "-" if ask is None else f"{_plain(ask.price)} {ask.venue}"
    crossed = " CROSSED" if view.crossed else ""
    return f"{view.base}/{view.quote} best bid {bid_text} ask {ask_text}{crossed}"


def status_line(status: EngineStatus, now: float | None = None) -> str:
    """One line an operator can watch scroll: price, position, P&L, orders, fills, feed health;
    it starts with the time of day in UTC (``now``, default the clock), as log lines do."""
    parts = [clock(time.time() if now is None else now)]
    label = _labeller(status)
    for instrument_id, price in status.last_prices.items():
        parts.append(f"{label(instrument_id)} {_plain(price)}")
    several = len(status.last_prices) > 1
    for position in status.positions:
        if position.quantity:
            avg = _money(position.avg_entry_price).lstrip("+")
            whose = f" {label(position.instrument_id)}" if several else ""
            parts.append(f"pos{whose} {_plain(position.quantity)} @ {avg}")
    realized, fees, unrealized = pnl(status)
    parts.append(
        f"P&L realized {_money(realized)} fees {_money(fees).lstrip('+')}"
        f" net {_money(realized - fees)} unrealized {_money(unrealized)}"
    )
    for view in status.consolidated:
        parts.append(_consolidated(view))
    parts.append(f"equity {_money(status.equity).lstrip('+')}")
    parts.append(
        f"since start: orders {status.orders_submitted} fills {status.fills}"
        f" rejected {status.risk_rejections} | open {status.open_orders}"
    )
    feeds = []
    for feed in status.feeds:
        state = "up" if feed.connected else "DOWN"
        line = f"{feed.name} {state} msgs {feed.messages} reconnects {feed.reconnects} gaps {feed.gaps}"
        if feed.instruments:
            verified = sum(1 for i in feed.instruments if i.book_verified)
            line += f" books {verified}/{len(feed.instruments)} verified"
        if feed.checksum_failures:
            line += f" checksum failures {feed.checksum_failures}"
        if not feed.connected and feed.last_error:
            error = feed.last_error
            line += f" ({error if len(error) <= 100 else '…' + error[-99:]})"
        feeds.append(line)
    parts.extend(feeds)
    for data in status.instruments:  # the same test as the risk guard's: no new order passes on these
        if not data.usable:
            problem = data.problem if len(data.problem) <= 100 else data.problem[:99] + "…"
            parts.append(f"{label(data.instrument_id)} data UNUSABLE ({problem})")
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


def _pnl_fields(status: EngineStatus) -> dict[str, str]:
    realized, fees, unrealized = pnl(status)
    return {
        "realized": plain(realized),
        "fees": plain(fees),
        "net": plain(realized - fees),
        "unrealized": plain(unrealized),
    }


def status_fields(status: EngineStatus) -> dict[str, object]:
    """What the status line shows, as fields a log collector can index (amounts as exact
    decimal strings); the record's own timestamp is its time."""
    broker = status.broker
    return {
        "prices": {instrument_id: plain(price) for instrument_id, price in status.last_prices.items()},
        "positions": [
            {
                "instrument": p.instrument_id,
                "quantity": plain(p.quantity),
                "avg_entry_price": None if p.avg_entry_price is None else plain(p.avg_entry_price),
            }
            for p in status.positions
            if p.quantity
        ],
        "pnl": _pnl_fields(status),
        "equity": None if status.equity is None else plain(status.equity),
        "counters": {
            "orders_submitted": status.orders_submitted,
            "fills": status.fills,
            "risk_rejections": status.risk_rejections,
            "open_orders": status.open_orders,
        },
        "feeds": [
            {
                "name": feed.name,
                "connected": feed.connected,
                "messages": feed.messages,
                "reconnects": feed.reconnects,
                "gaps": feed.gaps,
                "malformed": feed.malformed,
                "unknown": feed.unknown,
                "checksum_failures": feed.checksum_failures,
                "last_error": feed.last_error,
                "instruments": [
                    {
                        "instrument": i.instrument_id,
                        "book_verified": i.book_verified,
                        "last_message_ns": i.last_message_ns,
                        "gaps": i.gaps,
                        "checksum_failures": i.checksum_failures,
                        "resubscriptions": i.resubscriptions,
                    }
                    for i in feed.instruments
                ],
            }
            for feed in status.feeds
        ],
        "broker": None
        if broker is None
        else {
            "name": broker.name,
            "connected": broker.connected,
            "requests_in_flight": broker.requests_in_flight,
            "unknown_outcomes": broker.unknown_outcomes,
            "rate_limited": broker.rate_limited,
            "last_error": broker.last_error,
        },
        "unusable": {data.instrument_id: data.problem for data in status.instruments if not data.usable},
        "consolidated": [
            {
                "pair": f"{view.base}/{view.quote}",
                "best_bid": None
                if view.best_bid is None
                else {"price": plain(view.best_bid.price), "venue": view.best_bid.venue},
                "best_ask": None
                if view.best_ask is None
                else {"price": plain(view.best_ask.price), "venue": view.best_ask.venue},
                "crossed": view.crossed,
            }
            for view in status.consolidated
        ],
        "trading_state": status.trading_state.value,
        "trading_reason": status.trading_reason,
    }


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


def summary_fields(status: EngineStatus) -> dict[str, object]:
    """The summary as fields: counters since this start, then the account carried across restarts."""
    return {
        "counters": {
            "trades_seen": status.trades_seen,
            "signals": status.signals,
            "orders_submitted": status.orders_submitted,
            "fills": status.fills,
            "risk_rejections": status.risk_rejections,
        },
        "equity": None if status.equity is None else plain(status.equity),
        "pnl": _pnl_fields(status),
        "trading_state": status.trading_state.value,
        "positions": [
            {
                "instrument": p.instrument_id,
                "quantity": plain(p.quantity),
                "realized": plain(p.realized_pnl),
                "fees": plain(p.fees),
                "net": plain(p.realized_pnl - p.fees),
                "unrealized": None if p.unrealized_pnl is None else plain(p.unrealized_pnl),
            }
            for p in status.positions
        ],
    }


def _show_status(console: Console, status: EngineStatus) -> None:
    now = time.time()
    console.record(status_line(status, now), "status", status_fields(status), now)


async def run_engine(
    engine: Engine,
    *,
    duration: float | None,
    status_interval: float,
    cancel_open_orders: bool,
    out: TextIO | None = None,
    before_stop: Callable[[], Awaitable[None]] | None = None,
    console: Console | None = None,
) -> EngineStatus:
    """Start ``engine``, show a status line every ``status_interval`` s until ``duration``
    elapses or SIGINT/SIGTERM arrives, then stop it cleanly and return the final status.

    Lines go through ``console`` (default: plain text on ``out``, else stdout)."""
    console = console or Console("text", out)
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
            _show_status(console, engine.status())
            engine.snapshot_account()  # the live equity curve, one point per status line
    finally:
        if before_stop is not None:
            await before_stop()
        await engine.stop(cancel_open_orders=cancel_open_orders)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    final = engine.status()
    console.record(summary(final), "summary", summary_fields(final), time.time())
    return final
