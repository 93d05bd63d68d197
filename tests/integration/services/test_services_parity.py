"""One process or three services: the same events give the same signals, orders and fills.

The same recorded market (two instruments, trades, a fast SMA crossover on each) goes once
through one process's engine and once through the services over the real Redis: the shard
streams, two strategy workers sharing the shards, and execution merging each shard's market
events with the workers' decisions. Execution applies a shard's events in the order they were
recorded and trades each signal right after the event it was decided on, so per instrument the
signals, the orders (side, quantity, status) and the fills (price, quantity, fee) are equal.
Across instruments in different shards the interleaving may differ (each shard is its own
stream); the settings keep every limit that reads the whole portfolio out of reach, so nothing
here depends on that interleaving. Client order ids differ by design: one process counts,
execution derives them from the signal.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from redis.crc import key_slot

from adapters.redis.connection import sync_client
from adapters.redis.shard_entries import read_entry
from adapters.redis.stream_bus import StreamRouting
from application.messages import PositionChanged
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent, TradeTick
from domain.values import AggressorSide
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App
from entrypoints.services.topology import shard_layout
from tests.integration.services.conftest import REDIS_URL
from tests.integration.services.harness import run_one_process, run_services
from tests.support.redis_cluster import ClusterInfo, ClusterStartError, local_redis_cluster

INSTRUMENTS = ("BTCUSDT.BINANCE", "ETHUSDT.BINANCE", "SOLUSDT.BINANCE")

EVENTS = 3_000


def _settings(prefix: str, url: str = REDIS_URL, *, cluster: bool = False) -> Settings:
    instrument = {"price_tick": "0.01", "lot_size": "0.001", "min_quantity": "0.001", "min_notional": "1"}
    return parse_settings(
        {
            "engine": {"name": "parity", "order_id_prefix": "PT"},
            "account": {"balances": {"USDT": "10000000"}},
            "instruments": [
                {"id": iid, "base": iid.split("USDT")[0], "quote": "USDT", **instrument}
                for iid in INSTRUMENTS
            ],
            "broker": {
                "kind": "paper",
                "last_trade_liquidity": True,
                "taker_fee_bps": "10",
                "account": "margin",
            },
            "strategies": [
                {
                    "id": f"sma-{iid.split('USDT')[0].lower()}",
                    "kind": "sma_crossover",
                    "instruments": [iid],
                    "params": {"fast": 3, "slow": 9},
                    "sizing": {"kind": "fixed_quantity", "quantity": "0.01"},
                    "allow_short": True,
                }
                for iid in INSTRUMENTS
            ],
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "1",
                "max_open_orders": 100,
                "max_orders_per_window": 1_000_000,
                "window_ns": 60_000_000_000,
                "max_data_age_ns": 3_600_000_000_000,
                "price_band_fraction": "0.5",
                "daily_loss_limit": "1000000",
                "max_drawdown_fraction": "0.99",
            },
            "storage": {"kind": "memory"},
            "redis": {"url": url, "prefix": prefix},
            "bus": {
                "kind": "redis",
                "cluster": cluster,
                "shards": 4,
                "decision_wait_ms": 30_000,
                "lease_ttl_ms": 3_000,
                # The market (75 s of it) is published at once, and the execution's clock follows
                # the latest event applied on any shard: a shard whose worker is a moment behind
                # can be more than the default 60 s of event time behind another, and its
                # decisions would be refused as stale. The guard is for outages, not this burst.
                "decision_max_age_ms": 3_600_000,
            },
        }
    )


def _market(seed: int) -> list[MarketEvent]:
    """Trades of the three instruments interleaved at random, each a noisy swing."""
    rng = random.Random(seed)
    prices = {"BTCUSDT.BINANCE": 30_000.0, "ETHUSDT.BINANCE": 2_000.0, "SOLUSDT.BINANCE": 100.0}
    events: list[MarketEvent] = []
    ts = 1_700_000_000_000_000_000
    for n in range(EVENTS):
        iid = rng.choice(INSTRUMENTS)
        prices[iid] *= 1 + rng.gauss(0, 0.002)
        ts += rng.randint(0, 50_000_000)
        events.append(
            TradeTick.create(
                instrument_id=InstrumentId(iid),
                price=Decimal(f"{prices[iid]:.2f}"),
                size=Decimal("0.5"),
                aggressor=AggressorSide.BUYER if rng.random() < 0.5 else AggressorSide.SELLER,
                trade_id=str(n),
                ts_event=ts,
                ts_init=ts,
            )
        )
    return events


def _by_instrument(app: App) -> dict[str, dict[str, list[Any]]]:
    seen: dict[str, dict[str, list[Any]]] = {
        iid: {"signals": [], "orders": [], "fills": []} for iid in INSTRUMENTS
    }
    for signal in app.signals.list(limit=1_000_000):
        seen[signal.instrument_id]["signals"].append(
            (signal.strategy_id, signal.side, signal.target_position, signal.reason, signal.ts_event)
        )
    orders = app.trades.list_orders()
    for order in orders:
        seen[order.instrument_id]["orders"].append(
            (order.side, order.quantity, order.order_type, order.status, order.filled_quantity)
        )
    for fill in app.trades.list_fills():
        seen[fill.instrument_id]["fills"].append((fill.side, fill.quantity, fill.price, fill.fee))
    for iid in INSTRUMENTS:
        position = app.portfolio.positions.get(InstrumentId(iid))
        seen[iid]["position"] = [
            None if position is None else (position.quantity, position.realized_pnl, position.fees)
        ]
    return seen


@pytest.mark.parametrize("workers", [1, 2])
def test_one_process_and_three_services_trade_the_same(prefix: str, workers: int) -> None:
    _same_trading(_settings(prefix), workers)


def test_the_services_trade_the_same_on_a_redis_cluster(cluster: ClusterInfo) -> None:
    """Three masters: the shards' streams spread over them, each shard's keys on one node."""
    settings = _settings(f"tradeplane-test:{uuid.uuid4().hex}:", cluster.url, cluster=True)
    layout = shard_layout(settings)
    nodes = {key_slot(layout.market_stream(shard).encode()) * 3 // 16384 for shard in range(4)}
    assert len(nodes) > 1, "the shards all hash to one master: the test would not cross nodes"
    _same_trading(settings, 2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterInfo]:
    try:
        with local_redis_cluster(timeout_s=30) as info:
            yield info
    except ClusterStartError as error:
        pytest.fail(f"could not start a local Redis Cluster: {error}", pytrace=False)


def _same_trading(settings: Settings, workers: int) -> None:
    events = _market(seed=11)
    one = run_one_process(settings, events)
    services = asyncio.run(run_services(settings, events, workers=workers))
    try:
        expected, got = _by_instrument(one), _by_instrument(services.app)
        assert sum(len(v["orders"]) for v in expected.values()) > 100  # the market made it trade
        for iid in INSTRUMENTS:
            for what in ("signals", "orders", "fills", "position"):
                assert got[iid][what] == expected[iid][what], f"{iid} {what} differ"
        status = services.shards.status()
        assert status.late == 0
        assert status.duplicates == 0
        _published_positions_agree(settings, services.app)
    finally:
        one.close()
        services.app.close()


def _published_positions_agree(settings: Settings, app: App) -> None:
    """What execution published for the others ends where its portfolio is."""
    client = sync_client(settings.redis.url, timeout_s=5.0, cluster=settings.bus.cluster)
    try:
        rows = client.xrange(StreamRouting(prefix=settings.redis.prefix).stream("events"))
    finally:
        client.close()
    last: dict[str, Decimal] = {}
    for _, fields in rows:
        message, _ = read_entry(fields)
        if isinstance(message, PositionChanged):
            last[message.instrument_id] = message.quantity
    assert last, "execution published no position"
    for iid, quantity in last.items():
        assert app.portfolio.positions[InstrumentId(iid)].quantity == quantity
