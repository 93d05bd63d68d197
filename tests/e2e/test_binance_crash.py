"""Crash recovery end to end on the Binance adapter: ``tradeplane run`` trading through
``[broker] kind = "binance"`` against ``tradeplane exchange-sim --trading`` is killed with SIGKILL
mid-trading, restarted on the same store, and the store ends up agreeing with the venue's own
account.

The simulated venue is a process of its own, so it outlives every engine: what an engine sent
before it died is executed (or not) there, and the next engine has to find out by asking. The
engine trades with a fast SMA crossover while a gRPC client of the test submits MARKET orders
of the minimum quantity (client order ids of its own) and watches StreamOrderEvents; the client,
the status checks and the process handling are those of ``test_crash_recovery``. The engine is
killed ``KILLS`` times at seeded random moments (two of them at the next acknowledgment after
that moment, so that an order is on its way to the venue), restarted each time, and finally
stopped with Ctrl-C. Then the store is read with ``adapters.persistence`` and the venue is asked
over signed REST (``allOrders``, ``myTrades`` and ``account``, signed as the broker signs):

- every acknowledged order is stored as submitted; every fill the stream showed is stored,
  exactly once; every order rebuilds from its journal with its fills; every position is the
  fold of its fills (fees in BTC come out of the quantity, as they do out of the account);
- no engine run printed a traceback or an ERROR line, each recovered with no mismatch, and
  each restart reconciled with the venue before it started trading;
- every trade of the venue is stored once, as a fill of the order with that client order id,
  with the venue's quantity, price, fee and fee asset; no stored fill is unknown to the venue;
- every order the venue has is stored with the venue's status, order id and executed
  quantity; a stored order the venue never took is REJECTED, with no venue id and no fill;
- the stored balances of BTC and USDT are the venue's (free + locked).

Every wait is bounded; the simulator and the engines are killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.brokers.binance.broker import NO_RECORD
from adapters.brokers.binance.signing import HmacSigner, encode_params, rest_payload
from adapters.persistence.trade_store import SqlTradeRepository
from application.reconciliation import LOST_SUBMISSION
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order, OrderStatus
from domain.positions import Position
from tests.e2e import test_crash_recovery as crash
from tests.e2e.test_crash_recovery import (
    QUANTITY,
    REPO,
    TOKEN,
    Child,
    Client,
    Seen,
    Store,
    _check_status,
    _resubmit_is_duplicate,
    _serving,
    _settings,
    _toml,
    store,  # noqa: F401 - the fixture: the store on SQLite, and on PostgreSQL
)
from tests.integration.persistence.support import Database

API_KEY = "e2eBinanceCrashKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
API_SECRET = "e2eBinanceCrashSecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
INSTRUMENT = InstrumentId("BTCUSDT.BINANCE")
SYMBOL = "BTCUSDT"
BASE, QUOTE = "BTC", "USDT"
STRATEGY = "sma-binance-crash"
PREFIX = "BX"

SEED = 20_261_206
KILLS = 3
KILL_AFTER_S = (1.0, 3.0)  # a kill comes this long (uniform, seeded) after the engine serves
KILL_ON_ACKNOWLEDGMENT = (0, 2)
"""The runs killed not at their random moment but at the client's next acknowledgment after it:
the order just acknowledged is then on its way to the venue (a loopback round trip takes a few
ms), so the restart must find out from the venue whether it got there."""
ACKNOWLEDGMENT_WAIT_S = 2.0
STATUS_AFTER_S = 0.8  # the counters are checked this long after the engine serves
LAST_RUN_S = 1.5  # the run after the last restart trades this long before Ctrl-C
RATE = "200"  # market steps per second: with SMA 10/40 the strategy sends a few orders a second
SUBMIT_EVERY_S = 0.3
"""The client's pace. The venue takes at most 100 new orders per 10 s from the account, over
every engine run: the strategy and the client together stay well below that."""

MIGRATE_TIMEOUT_S = 60.0
VENUE_TIMEOUT_S = 5.0
PAGE = 1000  # the most allOrders / myTrades return at once
QUIET = ("--log-level", "WARNING")

VENUE_STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""What each of the venue's order statuses is called in the store."""


# -- the processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Venue:
    """Where the simulator serves: the market data (one port) and the trading side (another)."""

    market_port: int
    rest_url: str
    ws_api_url: str


def _start_simulator(tmp_path: Path) -> tuple[Child, Venue]:
    sim = Child(
        "exchange-sim",
        [
            *("exchange-sim", "--port", "0", "--symbols", SYMBOL, "--seed", "7", "--rate", RATE),
            *("--trading", "--trading-port", "0", "--api-key", API_KEY, "--api-secret", API_SECRET),
            *("--balances", "USDT=100000,BTC=1", *QUIET),
        ],
        tmp_path / "sim.err",
        {},
    )
    market_port = int(sim.wait_for(r"listening on ws://127\.0\.0\.1:(\d+)").group(1))
    trading = sim.wait_for(r"trading on (http://127\.0\.0\.1:\d+)/api/v3 and (ws://127\.0\.0\.1:\d+/\S+)")
    return sim, Venue(market_port, trading.group(1), trading.group(2))


def _config(venue: Venue, storage: dict[str, Any]) -> dict[str, Any]:
    """The crash-recovery run's settings with the Binance adapter at the simulated venue: the
    venue says what the instrument's rules and the account's balances are."""
    settings = _settings(venue.market_port, storage)
    del settings["account"]
    settings["engine"] |= {"name": "binance-crash", "order_id_prefix": PREFIX}
    settings["instruments"] = [{"id": str(INSTRUMENT)}]
    settings["broker"] = {
        "kind": "binance",
        "environment": "testnet",
        "rest_url": venue.rest_url,
        "ws_api_url": venue.ws_api_url,
        "reconcile_interval_s": 1,
        "use_system_proxy": False,
        "request_timeout_s": 2.0,
        "unknown_outcome_retry_s": 0.1,
        "unknown_outcome_max_delay_s": 0.5,
        "reconnect_initial_delay": 0.1,
        "reconnect_max_delay": 0.5,
        "disconnect_timeout_s": 5.0,
    }
    strategy = settings["strategies"][0]
    strategy |= {"id": STRATEGY, "params": {"fast": 10, "slow": 40}}
    return settings


def _next_acknowledgment(seen: Seen) -> None:
    """Return as soon as the client is told of one more acknowledged order (bounded)."""
    count = len(seen.acknowledged)
    deadline = time.monotonic() + ACKNOWLEDGMENT_WAIT_S
    while len(seen.acknowledged) == count:
        if time.monotonic() > deadline:
            pytest.fail(f"no order was acknowledged in {ACKNOWLEDGMENT_WAIT_S:g} s")
        time.sleep(0.0005)


def _migrate(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "migrate", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _engine(run: int, config: Path, tmp_path: Path) -> Child:
    env = {
        "TRADEPLANE_ADMIN_TOKEN": TOKEN,
        "TRADEPLANE_BINANCE_API_KEY": API_KEY,
        "TRADEPLANE_BINANCE_API_SECRET": API_SECRET,
    }
    args = ["run", "--config", str(config), "--grpc-listen", "127.0.0.1:0"]
    return Child(f"engine run {run}", args, tmp_path / f"engine-{run}.err", env)


# -- the venue's own account ----------------------------------------------------------------------


@dataclass(frozen=True)
class VenueAccount:
    """The account's orders (by client order id), trades and balances (free + locked), as the
    venue lists them."""

    orders: dict[str, dict[str, Any]]
    trades: list[dict[str, Any]]
    balances: dict[str, Decimal]


def _read_venue(rest_url: str) -> VenueAccount:
    """Every order and trade of the account on BTCUSDT (page by page) and its balances, over
    signed REST."""
    signer = HmacSigner(API_SECRET)
    with httpx.Client(base_url=rest_url, trust_env=False, timeout=VENUE_TIMEOUT_S) as http:

        def signed_get(path: str, params: list[tuple[str, object]]) -> Any:
            query = encode_params([*params, ("recvWindow", 5000), ("timestamp", time.time_ns() // 1_000_000)])
            signature = signer.sign(rest_payload(query))
            response = http.get(f"{path}?{query}&signature={signature}", headers={"X-MBX-APIKEY": API_KEY})
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
            return response.json()

        orders: list[dict[str, Any]] = []
        while True:
            after = orders[-1]["orderId"] + 1 if orders else 0
            page = signed_get("/api/v3/allOrders", [("symbol", SYMBOL), ("orderId", after), ("limit", PAGE)])
            orders += page
            if len(page) < PAGE:
                break
        trades: list[dict[str, Any]] = []
        while True:
            after = trades[-1]["id"] + 1 if trades else 0
            page = signed_get("/api/v3/myTrades", [("symbol", SYMBOL), ("fromId", after), ("limit", PAGE)])
            trades += page
            if len(page) < PAGE:
                break
        account = signed_get("/api/v3/account", [])
    by_coid = {order["clientOrderId"]: order for order in orders}
    assert len(by_coid) == len(orders), "the venue gave one client order id to two orders"
    balances = {row["asset"]: Decimal(row["free"]) + Decimal(row["locked"]) for row in account["balances"]}
    return VenueAccount(by_coid, trades, balances)


# -- the test ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_on_binance_loses_and_doubles_nothing_and_the_store_agrees_with_the_venue(
    store: Store,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crash, "SUBMIT_EVERY_S", SUBMIT_EVERY_S)  # the pace of the imported Client
    rng = random.Random(SEED)
    seen = Seen()
    children: list[Child] = []
    clients: list[Client] = []
    engines: list[Child] = []
    try:
        sim, venue = _start_simulator(tmp_path)
        children.append(sim)
        config = tmp_path / "binance-crash.toml"
        config.write_text(_toml(_config(venue, store.storage)))
        _migrate(config)

        for run in range(KILLS + 1):
            engine = _engine(run, config, tmp_path)
            children.append(engine)
            engines.append(engine)
            address = engine.wait_for(r"gRPC control plane on (\S+)").group(1)
            client = Client(address, run, seen)
            clients.append(client)
            _serving(client)
            if run:  # an order acknowledged before the kill is known after it: a duplicate
                _resubmit_is_duplicate(client, seen, run)
            serving_at = time.monotonic()
            client.start()
            if run == KILLS:
                time.sleep(LAST_RUN_S)
                client.pause()
                time.sleep(0.3)  # the last fills reach the stream
                _check_status(client, run)
                client.stop()
                code = engine.stop()
                assert code == 0, f"Ctrl-C exit code {code}:\n{engine.output()}"
            else:
                kill_at = serving_at + rng.uniform(*KILL_AFTER_S)
                time.sleep(STATUS_AFTER_S)
                _check_status(client, run)
                time.sleep(max(0.0, kill_at - time.monotonic()))
                if run in KILL_ON_ACKNOWLEDGMENT:
                    _next_acknowledgment(seen)
                engine.kill()  # SIGKILL, wherever it was
                assert engine.process.returncode == -signal.SIGKILL
                client.stop()
            assert not client.errors, client.errors
            assert client.submitted > 0, f"run {run}: no order was acknowledged"
        account = _read_venue(venue.rest_url)
        assert sim.stop() == 0, sim.output()
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                client.channel.close()
        for child in reversed(children):
            child.kill()

    for engine in engines:
        text = engine.stderr()
        assert "Traceback" not in text, engine.output()
        assert " ERROR " not in text, engine.output()
        assert " CRITICAL " not in text, engine.output()
        assert re.search(r"recovery: .*0 mismatch\(es\)", text), engine.output()
        started = text.find("engine started")
        assert started > 0, engine.output()
        assert re.search(r"reconciliation: \d+ order\(s\) checked with the broker", text[:started]), (
            engine.output()
        )
    assert not seen.streamed_twice, f"fills streamed twice: {seen.streamed_twice}"

    trades = store.database.track(SqlTradeRepository(store.database.open()))
    orders = {order.client_order_id: order for order in trades.list_orders()}
    fills = trades.list_fills()
    _check_store(store.database, trades.positions(), orders, fills, seen)
    _check_venue_agrees(orders, fills, trades.balances(), account)
    assert "Traceback" not in sim.stderr(), sim.output()  # last: the store was checked all the same


def _check_store(
    database: Database,
    positions: dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]],
    orders: dict[ClientOrderId, Order],
    fills: list[Fill],
    seen: Seen,
) -> None:
    # Every acknowledged order is stored, as submitted.
    missing = sorted(set(seen.acknowledged) - set(orders))
    assert not missing, f"{len(missing)} acknowledged order(s) not stored: {missing}"
    for coid, side in seen.acknowledged.items():
        order = orders[ClientOrderId(coid)]
        assert (order.side, order.quantity, order.strategy_id) == (side, QUANTITY, "manual"), order

    # Every fill seen on the stream is stored (same quantity and price); none is stored twice.
    stored: dict[tuple[str, str], Fill] = {(fill.client_order_id, fill.trade_id): fill for fill in fills}
    twice = [key for key, n in Counter((f.client_order_id, f.trade_id) for f in fills).items() if n > 1]
    assert not twice, f"fills stored twice: {twice}"
    lost = sorted(set(seen.fills) - set(stored))
    assert not lost, f"{len(lost)} streamed fill(s) not stored: {lost}"
    for key, (quantity, price) in seen.fills.items():
        assert (stored[key].quantity, stored[key].price) == (quantity, price), key

    # Every stored order rebuilds from its journal; its filled quantity is the sum of its fills.
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_order[fill.client_order_id].append(fill)
    assert set(by_order) <= set(orders), f"fills of unknown orders: {set(by_order) - set(orders)}"
    fresh = database.track(SqlTradeRepository(database.open()))
    for coid in orders:
        rebuilt = fresh.get_order(coid)
        assert rebuilt is not None, coid
        total = sum((fill.quantity for fill in by_order.get(coid, ())), Decimal(0))
        assert rebuilt.filled_quantity == total, (rebuilt, by_order.get(coid))
        assert total <= rebuilt.quantity, (rebuilt, by_order.get(coid))

    # The position is the fold of its fills, each fee booked by the asset it was paid in.
    assert set(positions) <= {INSTRUMENT}, positions
    folded = Position.from_fills(INSTRUMENT, fills, base=BASE, quote=QUOTE)
    assert positions.get(INSTRUMENT) == folded.state(), (positions, folded)

    # Nothing is left working after the clean stop; the strategy traded; every acknowledged
    # MARKET order executed, or was turned down without reaching the book.
    working = [(o.client_order_id, o.status.value) for o in orders.values() if not o.status.is_terminal]
    working = [(coid, status) for coid, status in working if status != OrderStatus.INITIALIZED.value]
    assert not working, f"orders still working after the stop: {working}"
    assert any(order.strategy_id == STRATEGY for order in orders.values()), "no strategy order stored"
    unfilled = [
        (coid, orders[ClientOrderId(coid)].status.value, orders[ClientOrderId(coid)].events[-1].reason)
        for coid in seen.acknowledged
        if orders[ClientOrderId(coid)].status not in (OrderStatus.FILLED, OrderStatus.REJECTED)
    ]
    assert not unfilled, f"acknowledged market orders neither filled nor rejected: {unfilled}"


def _check_venue_agrees(
    orders: dict[ClientOrderId, Order], fills: list[Fill], cash: dict[str, Decimal], account: VenueAccount
) -> None:
    """The venue is the truth: the store has each of its orders and trades, and the balances of
    the assets traded, exactly as it does."""
    assert account.trades, "the venue made no trade"
    coid_of = {order["orderId"]: coid for coid, order in account.orders.items()}
    stored: Counter[tuple[str, str]] = Counter((fill.client_order_id, fill.trade_id) for fill in fills)
    by_key: dict[tuple[str, str], Fill] = {(fill.client_order_id, fill.trade_id): fill for fill in fills}

    # Every trade of the venue is stored once, as a fill of its order, as the venue has it.
    at_venue: set[tuple[str, str]] = set()
    for trade in account.trades:
        key = (coid_of[trade["orderId"]], str(trade["id"]))
        at_venue.add(key)
        assert stored[key] == 1, f"venue trade {trade} stored {stored[key]} time(s)"
        fill = by_key[key]
        expected = (Decimal(trade["qty"]), Decimal(trade["price"]), Decimal(trade["commission"]))
        assert (fill.quantity, fill.price, fill.fee) == expected, (fill, trade)
        assert fill.fee_asset == trade["commissionAsset"], (fill, trade)
        assert fill.side.name == ("BUY" if trade["isBuyer"] else "SELL"), (fill, trade)
    unknown = sorted(set(stored) - at_venue)
    assert not unknown, f"{len(unknown)} stored fill(s) the venue never made: {unknown}"

    # Every order the venue has is stored, with its status, id and executed quantity.
    not_stored = sorted(set(account.orders) - set(orders))
    assert not not_stored, f"{len(not_stored)} venue order(s) not in the store: {not_stored}"
    turned_down: Counter[str] = Counter()
    for coid, order in orders.items():
        if order.status is OrderStatus.INITIALIZED:
            continue  # refused by the engine's own risk checks: never sent
        venue = account.orders.get(coid)
        if venue is None:  # never taken by the venue: lost on the way, or turned down
            assert order.status is OrderStatus.REJECTED, order
            assert order.venue_order_id is None, order
            assert not order.fills, order
            reason = order.events[-1].reason
            turned_down["lost on the way" if reason in (LOST_SUBMISSION, NO_RECORD) else "refused"] += 1
            continue
        assert order.status is VENUE_STATUS[venue["status"]], (order, venue)
        assert order.venue_order_id == str(venue["orderId"]), (order, venue)
        assert order.filled_quantity == Decimal(venue["executedQty"]), (order, venue)
    # The cash of the assets traded is the venue's, to the last unit.
    held = {asset: cash.get(asset) for asset in (BASE, QUOTE)}
    assert held == {asset: account.balances.get(asset) for asset in (BASE, QUOTE)}, (held, account.balances)
    print(
        f"venue agrees: {len(account.orders)} order(s), {len(account.trades)} trade(s);"
        f" never at the venue: {dict(turned_down) or 'none'}"
    )
