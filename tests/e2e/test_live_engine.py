"""End to end over a real loopback WebSocket: simulator -> Binance feed -> engine -> paper broker."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from adapters.exchanges.simulator import ExchangeSimulator
from domain.positions import Position
from entrypoints.commands.demo import demo_settings
from entrypoints.container import App, bootstrap

TRADES = 3000
DEADLINE_S = 60.0


async def _run_until(app: App, trades: int, deadline_s: float) -> None:
    await app.engine.start()
    started = time.monotonic()
    try:
        while app.market.trades_seen < trades:
            if time.monotonic() - started > deadline_s:
                pytest.fail(f"only {app.market.trades_seen} trades arrived within {deadline_s}s")
            await asyncio.sleep(0.05)
    finally:
        await app.engine.stop(cancel_open_orders=True)


async def _scenario() -> App:
    simulator = ExchangeSimulator(symbols=("BTCUSDT",), seed=11, rate=1000.0)
    await simulator.start()
    try:
        app = bootstrap(demo_settings(simulator.ws_url, simulator.rest_url))
        await _run_until(app, TRADES, DEADLINE_S)
        return app
    finally:
        await simulator.stop()


@pytest.mark.slow
def test_a_few_thousand_ticks_trade_reconcile_and_raise_nothing() -> None:
    app = asyncio.run(_scenario())
    status = app.engine.status()
    trades = app.trades  # the trade store the engine journaled into
    fills = list(trades.list_fills())

    assert status.trades_seen >= TRADES
    assert status.orders_submitted > 0, "the SMA crossover should have traded"
    assert status.fills > 0
    assert status.handler_errors == 0, app.bus.stats.last_failures
    assert all(feed.malformed == 0 for feed in status.feeds)

    # Every position equals the fold of its fills.
    for instrument_id, position in app.portfolio.positions.items():
        folded = Position.from_fills(instrument_id, [f for f in fills if f.instrument_id == instrument_id])
        assert position.state() == folded.state()

    # The account reconciles exactly with the fills: cash moved by price x quantity and fees.
    portfolio = app.portfolio
    cash_flow = sum((f.signed_quantity * f.price + f.fee for f in fills), Decimal(0))
    assert portfolio.account.balance("USDT") == Decimal("100000") - cash_flow
    base = sum((f.signed_quantity for f in fills), Decimal(0))
    assert portfolio.account.balance("BTC") == base
    equity = portfolio.equity()
    pnl = portfolio.realized_pnl() + portfolio.unrealized_pnl() - portfolio.fees()
    assert equity - Decimal("100000") == pnl

    # The journal saw every order reach a terminal state or stay open at the broker's word.
    for order in trades.list_orders():
        assert order.is_terminal or order.client_order_id in app.orders.open_orders
