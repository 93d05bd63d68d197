"""Paper and the simulated Binance venue fill alike when the market gives them no reason not to.

Two engines are built by ``bootstrap`` from the same settings but the broker: one on the paper
broker, one on the Binance adapter talking to ``TradingVenue`` over loopback. Both are fed the
same scripted quotes (``parity_venue.LockstepFeed``), the venue's book showing each quote as
the engine sees it, one level deep with room for every order. So every MARKET order takes one
level in full, at the touch, on both: any difference between the two runs is the adapters'.

- The same strategy (an SMA crossover on the mid, targeting a position) with no fees on either
  side makes the same fills, side by side (side, quantity, price), and ends on the same
  position. Fees are zero here by necessity, not for convenience: the venue charges a BUY's
  commission in the base asset (the asset received), which leaves the account, and so the
  position the strategy steers from, short by the fee; the next order would then differ.
- The same MARKET orders (a fixed script, and generated ones) with fees (paper
  ``taker_fee_bps = 10``, the venue's commission 0.001) make the same fills, each costing the
  same in quote: the venue's BTC fee at the fill's price is the paper fee. The fees are booked
  where they were paid: the positions and the cash differ by exactly the BTC fees, valued the
  same.
- Each fill names the strategy whose order it filled, on both.
- The engine, once closed, holds nothing open (no connection to the venue left behind).

Each run is bounded (``RUN_TIMEOUT_S``; an order not settled in ``SETTLE_TIMEOUT_S`` fails it).
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue
from adapters.memory import (
    InMemoryMarketDataRepository,
    InMemorySignalRepository,
    InMemoryTradeRepository,
    ManualClock,
)
from application.bus import HandlerFailure
from application.commands import SubmitOrder
from application.messages import BalancesReported
from domain.identifiers import InstrumentId, strategy_id
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.market_data import QuoteTick
from domain.orders import Fill
from domain.positions import Position
from domain.values import OrderSide, exact_mul
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.storage import Stores
from tests.integration.brokers.parity_venue import LockstepFeed, ScriptedBook, simulated_binance

API_KEY = "parityKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
API_SECRET = "paritySecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
BTCUSDT = InstrumentId("BTCUSDT.BINANCE")
BASE, QUOTE = "BTC", "USDT"
BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("1")}
FILTERS = SymbolFilters(tick_size=Decimal("0.01"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"))
TYPED_INSTRUMENT = {
    "id": str(BTCUSDT),
    "base": BASE,
    "quote": QUOTE,
    "price_tick": "0.01",
    "lot_size": "0.001",
    "min_quantity": "0.001",
    "min_notional": "5",
}
"""The paper side's instrument, typed as the venue's FILTERS publish it (checked in the tests)."""

LEVEL_SIZE = "5"  # BTC at the bid and at the ask: more than any order takes
START_NS = 1_767_225_600_000_000_000
STEP_NS = 100_000_000
RUN_TIMEOUT_S = 20.0
PERIOD = 16  # quotes per swing of the scripted market: the SMA crosses twice per swing


def _quotes(count: int) -> list[QuoteTick]:
    """A market swinging up and down by 4 USDT (and drifting), one cent wide, to two decimals."""
    quotes = []
    for i in range(count):
        phase = i % PERIOD
        swing = phase if phase <= PERIOD // 2 else PERIOD - phase
        mid = Decimal("30000") + Decimal(swing) / 2 + Decimal(i // PERIOD * 13) / 100
        quotes.append(
            QuoteTick.create(
                instrument_id=BTCUSDT,
                bid_price=mid - Decimal("0.01"),
                bid_size=LEVEL_SIZE,
                ask_price=mid + Decimal("0.01"),
                ask_size=LEVEL_SIZE,
                ts_event=START_NS + i * STEP_NS,
                ts_init=START_NS + i * STEP_NS,
            )
        )
    return quotes


def _settings(broker: dict[str, Any], instrument: dict[str, str], *, strategy: bool) -> Settings:
    strategies = [
        {
            "id": "sma-parity",
            "kind": "sma_crossover",
            "instruments": [str(BTCUSDT)],
            "params": {"fast": 3, "slow": 8, "source": "mid"},
            "sizing": {"kind": "fixed_quantity", "quantity": "0.05"},
            "allow_short": True,
        }
    ]
    return parse_settings(
        {
            "storage": {"kind": "memory"},
            "engine": {"name": "parity", "order_id_prefix": "PAR"},
            "account": {"balances": {asset: str(amount) for asset, amount in BALANCES.items()}},
            "instruments": [instrument],
            "broker": broker,
            "strategies": strategies if strategy else [],
            "risk": {
                "max_order_quantity": "0.5",
                "max_position_quantity": "0.5",
                "max_open_orders": 10,
                "max_orders_per_window": 10_000,
                "window_ns": 60_000_000_000,
                "max_data_age_ns": 5_000_000_000,
                "price_band_fraction": "0.05",
                "daily_loss_limit": "50000",
                "max_drawdown_fraction": "0.5",
            },
        },
        source="<parity>",
    )


def _paper(taker_fee_bps: str, *, strategy: bool) -> Settings:
    broker = {"kind": "paper", "maker_fee_bps": taker_fee_bps, "taker_fee_bps": taker_fee_bps}
    return _settings(broker, TYPED_INSTRUMENT, strategy=strategy)


def _binance(rest_url: str, ws_api_url: str, *, strategy: bool) -> Settings:
    broker = {
        "kind": "binance",
        "environment": "testnet",
        "rest_url": rest_url,
        "ws_api_url": ws_api_url,
        "use_system_proxy": False,
        "request_timeout_s": 5.0,
        "reconcile_interval_s": 3600,
    }
    return _settings(broker, {"id": str(BTCUSDT)}, strategy=strategy)


# -- a run ---------------------------------------------------------------------------------------

Orders = Callable[[App, int, QuoteTick], None]
"""Sends the test's own orders (if any) once quote #i has reached the engine."""


@dataclass
class Run:
    """What one engine did with the script."""

    instrument: Instrument
    fills: list[Fill]
    position: Position
    balances: dict[str, Decimal]
    left_open: list[str] = field(default_factory=list)
    """What the engine, once closed, still held open (each found by the garbage collector)."""

    def sides(self) -> list[tuple[OrderSide, Decimal, Decimal]]:
        return [(fill.side, fill.quantity, fill.price) for fill in self.fills]


@dataclass(frozen=True)
class Venue:
    """The simulated venue of a run and the book it shows."""

    book: ScriptedBook
    trading: TradingVenue


def _run(
    settings: Settings,
    quotes: Sequence[QuoteTick],
    *,
    venue: Venue | None = None,
    orders: Orders | None = None,
) -> Run:
    """Build the engine, feed it ``quotes`` in lockstep (the venue's book showing each), stop and
    close it; then look for what it left open, once nothing refers to it any more."""
    run = _run_engine(settings, quotes, venue, orders)
    run.left_open = _left_open()
    return run


def _run_engine(
    settings: Settings, quotes: Sequence[QuoteTick], venue: Venue | None, orders: Orders | None
) -> Run:
    clock = ManualClock(START_NS - STEP_NS)
    show = venue.book.show if venue is not None else lambda quote: None
    feed = LockstepFeed(quotes, clock, before_each=show)
    failures: list[str] = []

    def on_error(failure: HandlerFailure, error: BaseException) -> None:
        failures.append(f"{failure}: {error!r}")

    stores = Stores(InMemoryTradeRepository(), InMemorySignalRepository(), InMemoryMarketDataRepository())
    app = bootstrap(settings, clock=clock, feeds=[feed], stores=stores, on_handler_error=on_error)
    feed.settled = lambda: not app.orders.open_orders
    if venue is not None:  # and the venue's account updates have all arrived (see _account_heard)
        heard = _account_heard(app, venue.trading)
        feed.settled = lambda: not app.orders.open_orders and heard()
    if orders is not None:
        delivered = iter(range(len(quotes)))
        feed.after_each = lambda quote: orders(app, next(delivered), quote)
    try:
        asyncio.run(_drive(app, feed))
        assert feed.failure is None, feed.failure
        assert not failures, failures
        instrument, fills = app.instruments[BTCUSDT], list(app.trades.list_fills())
        position, balances = app.portfolio.position(BTCUSDT), dict(app.portfolio.account.balances)
    finally:
        app.close()
    return Run(instrument, fills, position, balances)


def _left_open() -> list[str]:
    """The resources nothing closed (sockets, files), each a ResourceWarning once collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    return [str(warning.message) for warning in caught if issubclass(warning.category, ResourceWarning)]


def _account_heard(app: App, venue: TradingVenue) -> Callable[[], bool]:
    """Whether the last balances the venue reported over the order-update stream are its balances
    now. The stream and the answer to an order travel apart: the strategy must not trade again
    while an account update is still on its way, or that older update would land after the
    engine booked the newer fill (the portfolio takes each update as the truth)."""
    reported: dict[str, Decimal] = dict(BALANCES)
    app.bus.subscribe(BalancesReported, lambda report: reported.update(report.balances))

    def heard() -> bool:
        now = venue.balances()
        return all(reported.get(asset) == sum(now.get(asset, ()), Decimal(0)) for asset in (BASE, QUOTE))

    return heard


async def _drive(app: App, feed: LockstepFeed) -> None:
    await app.engine.start()
    try:
        await asyncio.wait_for(feed.done.wait(), RUN_TIMEOUT_S)
    finally:
        await app.engine.stop()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated account's key, given to the engine the way a container gives it."""
    monkeypatch.setenv("TRADEPLANE_BINANCE_API_KEY", API_KEY)
    monkeypatch.setenv("TRADEPLANE_BINANCE_API_SECRET", API_SECRET)


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("credentials")
def test_the_same_strategy_makes_the_same_fills_and_position_on_paper_and_on_the_simulated_venue() -> None:
    quotes = _quotes(12 * PERIOD)
    paper = _run(_paper("0", strategy=True), quotes)
    book = ScriptedBook("BTCUSDT")
    venue_args: dict[str, Any] = {"api_key": API_KEY, "api_secret": API_SECRET, "balances": BALANCES}
    with simulated_binance(book, filters=FILTERS, commission=Decimal(0), **venue_args) as venue:
        config = _binance(venue.rest_url, venue.ws_api_url, strategy=True)
        binance = _run(config, quotes, venue=Venue(book, venue))
        venue_trades = venue.trades()

    assert binance.instrument == paper.instrument  # the same rules on both sides
    assert len(paper.fills) >= 10, "the script should make the strategy trade often"
    assert binance.sides() == paper.sides()
    assert len(venue_trades) == len(binance.fills)
    assert all(fill.fee == 0 for fill in paper.fills + binance.fills)
    assert binance.position.state() == paper.position.state()
    assert binance.balances == paper.balances
    assert not paper.left_open
    assert not binance.left_open, f"the engine, closed, still holds: {binance.left_open}"


@pytest.mark.usefixtures("credentials")
def test_each_fill_names_the_strategy_of_its_order_on_paper_and_on_the_simulated_venue() -> None:
    """A fill is the strategy's on both (ListFills by strategy, per-strategy results)."""
    quotes = _quotes(4 * PERIOD)
    paper = _run(_paper("0", strategy=True), quotes)
    book = ScriptedBook("BTCUSDT")
    venue_args: dict[str, Any] = {"api_key": API_KEY, "api_secret": API_SECRET, "balances": BALANCES}
    with simulated_binance(book, filters=FILTERS, commission=Decimal(0), **venue_args) as venue:
        config = _binance(venue.rest_url, venue.ws_api_url, strategy=True)
        binance = _run(config, quotes, venue=Venue(book, venue))

    assert paper.fills, "the script should make the strategy trade"
    assert {fill.strategy_id for fill in paper.fills} == {"sma-parity"}
    assert [fill.strategy_id for fill in binance.fills] == [fill.strategy_id for fill in paper.fills]


Script = dict[int, tuple[OrderSide, Decimal]]
"""The test's own MARKET orders, by the index of the quote they follow: (side, quantity)."""

SCRIPTED_ORDERS: Script = {
    3: (OrderSide.BUY, Decimal("0.05")),
    7: (OrderSide.SELL, Decimal("0.02")),
    12: (OrderSide.SELL, Decimal("0.1")),
    18: (OrderSide.BUY, Decimal("0.073")),
    21: (OrderSide.BUY, Decimal("0.013")),
    27: (OrderSide.SELL, Decimal("0.011")),
    30: (OrderSide.SELL, Decimal("0.2")),
    36: (OrderSide.BUY, Decimal("0.25")),
}
"""Mixed sizes, both sides, through zero."""
SCRIPT_QUOTES = 40
MAX_POSITION = Decimal("0.45")  # inside the risk limit (0.5), whatever the fees took


@st.composite
def order_scripts(draw: st.DrawFn) -> Script:
    """Up to 8 orders on the lot (0.001 to 0.25 BTC) at distinct quotes; a side that would take the
    position past MAX_POSITION is turned around, so risk never refuses one side only."""
    count = draw(st.integers(1, 8))
    at = sorted(draw(st.sets(st.integers(0, SCRIPT_QUOTES - 1), min_size=count, max_size=count)))
    script: Script = {}
    position = Decimal(0)
    for index in at:
        side = draw(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
        quantity = Decimal(draw(st.integers(1, 250))) / 1000
        if abs(position + side.value * quantity) > MAX_POSITION:
            side = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
        position += side.value * quantity
        script[index] = (side, quantity)
    return script


def _sender(script: Script) -> Orders:
    def send(app: App, index: int, quote: QuoteTick) -> None:
        order = script.get(index)
        if order is None:
            return
        side, quantity = order
        intent = OrderIntent(
            strategy_id=strategy_id("manual"),
            instrument_id=BTCUSDT,
            side=side,
            quantity=quantity,
            reason="parity",
            ts_event=quote.ts_event,
        )
        app.bus.execute(SubmitOrder(intent=intent)).unwrap()

    return send


@pytest.mark.usefixtures("credentials")
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(script=SCRIPTED_ORDERS)
@given(script=order_scripts())
def test_the_same_orders_cost_the_same_fees_in_quote_on_paper_and_on_the_simulated_venue(
    script: Script,
) -> None:
    quotes = _quotes(SCRIPT_QUOTES)
    paper = _run(_paper("10", strategy=False), quotes, orders=_sender(script))
    book = ScriptedBook("BTCUSDT")
    venue_args: dict[str, Any] = {"api_key": API_KEY, "api_secret": API_SECRET, "balances": BALANCES}
    with simulated_binance(book, filters=FILTERS, commission=Decimal("0.001"), **venue_args) as venue:
        config = _binance(venue.rest_url, venue.ws_api_url, strategy=False)
        binance = _run(config, quotes, venue=Venue(book, venue), orders=_sender(script))

    assert binance.instrument == paper.instrument
    assert [(fill.side, fill.quantity) for fill in paper.fills] == list(script.values())  # one level each
    assert binance.sides() == paper.sides()
    base_fees = Decimal(0)
    base_fees_in_quote = Decimal(0)
    for on_paper, on_venue in zip(paper.fills, binance.fills, strict=True):
        assert on_paper.fee_asset in ("", QUOTE), on_paper
        expected_asset = BASE if on_venue.side is OrderSide.BUY else QUOTE  # the asset received
        assert on_venue.fee_asset == expected_asset, on_venue
        in_quote = exact_mul(on_venue.fee, on_venue.price) if on_venue.fee_asset == BASE else on_venue.fee
        assert in_quote == on_paper.fee != 0, (on_paper, on_venue)
        if on_venue.fee_asset == BASE:
            base_fees += on_venue.fee
            base_fees_in_quote += in_quote

    # Each position is the fold of its fills; they differ by the fees paid in BTC, valued alike.
    for run in (paper, binance):
        folded = Position.from_fills(BTCUSDT, run.fills, base=BASE, quote=QUOTE)
        assert run.position.state() == folded.state()
    assert binance.position.fees == paper.position.fees
    assert binance.position.quantity == paper.position.quantity - base_fees
    # And so does the cash: the venue took those fees in BTC where paper took them in USDT.
    assert binance.balances[BASE] == paper.balances[BASE] - base_fees
    assert binance.balances[QUOTE] == paper.balances[QUOTE] + base_fees_in_quote
    assert not paper.left_open
    assert not binance.left_open, f"the engine, closed, still holds: {binance.left_open}"
