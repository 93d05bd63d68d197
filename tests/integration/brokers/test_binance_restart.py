"""A restart reconciles with the simulated Binance venue: what happened while the engine was down
is taken in once, through the real adapter and the real composition root.

The venue (``TradingVenue`` on a held-still book, in its own thread as a remote venue would be)
outlives two engines built by ``bootstrap`` on one SQLite store. The first places resting
orders and stops without canceling them; while no engine runs, the venue fills one, another is
canceled from elsewhere, and an order is placed from another application. The second engine
must find the fill booked once, the canceled order closed, the foreign order taken in as
external, and a third engine must find nothing left to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.trading import TradingVenue
from application.commands import SubmitOrder
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId
from domain.intents import OrderIntent
from domain.orders import OrderStatus, OrderType
from domain.positions import Position
from domain.values import OrderSide
from entrypoints.config import parse_settings
from entrypoints.container import App, bootstrap
from tests.integration.brokers.test_binance_against_simulator import API_KEY, SECRET, Tape

BTC = InstrumentId("BTCUSDT.BINANCE")
S = OrderStatus


@dataclass
class Venue:
    loop: BackgroundLoop
    venue: TradingVenue
    tape: Tape

    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` on the venue's own thread (its state is not shared across threads)."""

        async def on_loop() -> Any:
            return function(*args, **kwargs)

        return self.loop.run(on_loop())

    def trade_at(self, price: Decimal, quantity: str) -> None:
        def step() -> None:
            self.tape.print_trade(price, quantity)
            self.venue.market.step(time.time_ns() // 1_000_000)

        self.call(step)


@pytest.fixture
def venue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Venue]:
    monkeypatch.setenv("TRADEPLANE_BINANCE_API_KEY", API_KEY)
    monkeypatch.setenv("TRADEPLANE_BINANCE_API_SECRET", SECRET)
    loop = BackgroundLoop("binance-venue")
    tape = Tape()
    trading = TradingVenue(
        tape, api_key=API_KEY, api_secret=SECRET, balances={"USDT": Decimal("100000"), "BTC": Decimal("2")}
    )
    loop.run(trading.start("127.0.0.1", 0))
    try:
        yield Venue(loop, trading, tape)
    finally:
        loop.run(trading.stop())
        loop.close()


def _engine(venue: Venue, data_dir: Path) -> App:
    settings = parse_settings(
        {
            "storage": {"kind": "sql", "data_dir": str(data_dir)},
            "engine": {"order_id_prefix": "RS"},
            "instruments": [{"id": str(BTC)}],
            "broker": {
                "kind": "binance",
                "rest_url": venue.venue.rest_url,
                "ws_api_url": venue.venue.ws_api_url,
                "request_timeout_s": 2.0,
                "disconnect_timeout_s": 2.0,
                "use_system_proxy": False,
            },
        },
        source="<restart test>",
    )
    return bootstrap(settings)


def _resting_buys(app: App, bid: Decimal, count: int) -> list[ClientOrderId]:
    async def place() -> list[ClientOrderId]:
        await app.engine.start()
        ids = []
        for i in range(count):
            intent = OrderIntent(
                strategy_id=StrategyId("restart-test"),
                instrument_id=BTC,
                side=OrderSide.BUY,
                quantity=Decimal("0.1"),
                order_type=OrderType.LIMIT,
                price=bid - Decimal(i + 1),
                ts_event=time.time_ns(),
            )
            ids.append(app.bus.execute(SubmitOrder(intent=intent)).unwrap().client_order_id)
        deadline = time.monotonic() + 10
        while any(app.orders.get(i).status is not S.ACCEPTED for i in ids):
            assert time.monotonic() < deadline, [app.orders.get(i).status for i in ids]
            await asyncio.sleep(0.02)
        await app.engine.stop(cancel_open_orders=False)
        return ids

    try:
        return asyncio.run(place())
    finally:
        app.close()


def test_what_the_venue_did_while_the_engine_was_down_is_taken_in_once(venue: Venue, tmp_path: Path) -> None:
    bid = venue.tape.book("BTCUSDT").bids[0][0]
    filled, canceled, working = _resting_buys(_engine(venue, tmp_path), bid, 3)

    # while no engine runs: a fill, a cancel from elsewhere, an order from another application
    venue.trade_at(bid - Decimal(1), "0.1")
    venue.call(venue.venue.cancel_external_order, "BTCUSDT", client_order_id=str(canceled))
    foreign = venue.call(
        venue.venue.place_external_order, "BTCUSDT", "BUY", "LIMIT", "0.2", bid - Decimal(50), "web-ui-1"
    )

    app = _engine(venue, tmp_path)
    try:
        orders = {o.client_order_id: o for o in app.trades.list_orders()}
        assert orders[filled].status is S.FILLED
        assert [f.quantity for f in orders[filled].fills] == [Decimal("0.1")]
        assert orders[filled].fills[0].fee_asset == "BTC"  # charged in the asset received
        assert orders[canceled].status is S.CANCELED
        assert orders[working].status is S.ACCEPTED
        external = orders[ClientOrderId("web-ui-1")]
        assert external.strategy_id is None
        assert external.venue_order_id == str(foreign["orderId"])
        position = app.portfolio.positions[BTC]
        folded = Position.from_fills(BTC, list(app.trades.list_fills()), base="BTC", quote="USDT")
        assert position.state() == folded.state()
        # the position is what the account received: the quantity less the fee paid in BTC
        assert position.quantity == Decimal("0.1") - orders[filled].fills[0].fee
        venue_btc = sum(venue.venue.balances()["BTC"], Decimal(0))
        assert app.portfolio.account.balances["BTC"] == venue_btc
    finally:
        app.close()

    again = _engine(venue, tmp_path)
    try:
        assert len(again.trades.list_fills()) == 1  # booked once, not again
        assert {o.client_order_id for o in again.orders.open_orders.values()} == {working, "web-ui-1"}
    finally:
        again.close()


def test_a_sell_beyond_what_the_spot_account_holds_is_refused_before_it_is_sent(
    venue: Venue, tmp_path: Path
) -> None:
    app = _engine(venue, tmp_path)
    try:
        placed_before = len(venue.call(venue.venue.orders))
        intent = OrderIntent(
            strategy_id=StrategyId("restart-test"),
            instrument_id=BTC,
            side=OrderSide.SELL,
            quantity=Decimal("5"),  # the account holds 2 BTC
            order_type=OrderType.LIMIT,
            price=venue.tape.book("BTCUSDT").asks[0][0] + Decimal(100),
            ts_event=time.time_ns(),
        )

        result = app.bus.execute(SubmitOrder(intent=intent))

        assert result.order is None
        assert [r.reason.name for r in result.rejections] == ["INSUFFICIENT_BALANCE"]
        assert len(venue.call(venue.venue.orders)) == placed_before  # nothing reached the venue
    finally:
        app.close()
