"""Ingestion's publisher: each event in its instrument's shard stream, a feed's news in each
shard it concerns, with only that shard's instruments."""

from __future__ import annotations

from decimal import Decimal

import redis

from adapters.redis.connection import sync_client
from adapters.redis.shard_entries import read_entry
from adapters.redis.shard_publisher import ShardPublisher
from adapters.redis.shards import ShardLayout
from application.messages import FeedStatusChanged
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from tests.integration.services.conftest import REDIS_URL

BTC, ETH, SOL = (
    InstrumentId("BTCUSDT.BINANCE"),
    InstrumentId("ETHUSDT.BINANCE"),
    InstrumentId("SOLUSDT.BINANCE"),
)
SHARDS = {BTC: 0, ETH: 1, SOL: 1}


def _trade(iid: InstrumentId, n: int) -> TradeTick:
    return TradeTick.create(
        instrument_id=iid, price=Decimal(100), size=Decimal(1), aggressor=AggressorSide.SELLER,
        trade_id=str(n), ts_event=n, ts_init=n,
    )  # fmt: skip


def _stream(admin: redis.Redis, layout: ShardLayout, shard: int) -> list[object]:
    return [read_entry(fields)[0] for _, fields in admin.xrange(layout.market_stream(shard))]


def test_events_and_feed_news_land_in_their_shards(prefix: str) -> None:
    layout = ShardLayout(prefix=prefix, shards=2)
    down = FeedStatusChanged(
        feed="binance", instruments=(BTC, ETH, SOL), connected=False, reason="closed", ts_event=9
    )
    publisher = ShardPublisher(sync_client(REDIS_URL, timeout_s=2.0), layout, SHARDS, background=False)
    heard: list[object] = []
    publisher.subscribe(FeedStatusChanged, heard.append)
    try:
        for message in (
            _trade(BTC, 1),
            _trade(ETH, 2),
            down,
            _trade(SOL, 3),
            _trade(InstrumentId("X-Y.Z"), 4),
        ):
            publisher.publish(message)
        assert publisher.flush(5.0)
    finally:
        publisher.close()
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        assert _stream(admin, layout, 0) == [_trade(BTC, 1), FeedStatusChanged(
            feed="binance", instruments=(BTC,), connected=False, reason="closed", ts_event=9
        )]  # fmt: skip
        assert _stream(admin, layout, 1) == [_trade(ETH, 2), FeedStatusChanged(
            feed="binance", instruments=(ETH, SOL), connected=False, reason="closed", ts_event=9
        ), _trade(SOL, 3)]  # fmt: skip
    finally:
        admin.close()
    assert heard == [down]  # delivered once in this process, whole
    assert publisher.dropped == 1  # the instrument with no shard
