"""``[redis] cache = true``: the engine's latest quotes land in Redis for other processes."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import Decimal

import pytest
import redis

from adapters.redis.cache import RedisCache
from application.commands import SubmitOrder
from domain.identifiers import InstrumentId, strategy_id
from domain.intents import OrderIntent
from domain.market_data import BookSnapshot, QuoteTick, TradeTick
from domain.orders import OrderType
from domain.values import AggressorSide, OrderSide
from entrypoints.commands.demo import demo_settings
from entrypoints.config import ConfigError, RedisSettings, parse_settings
from entrypoints.container import bootstrap

pytestmark = pytest.mark.redis
BTC = InstrumentId("BTCUSDT.BINANCE")


def test_a_quote_the_engine_sees_is_readable_from_another_process(redis_url: str, prefix: str) -> None:
    settings = replace(
        demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1"),
        redis=RedisSettings(cache=True, url=redis_url, prefix=prefix),
    )
    app = bootstrap(settings, feeds=[])
    try:
        now = time.time_ns()
        quote = QuoteTick(
            BTC, Decimal("29999.5"), Decimal("1.25"), Decimal("30000.5"), Decimal("2"), now, now
        )
        app.bus.publish(quote)
        reader = RedisCache(redis.Redis.from_url(redis_url), prefix=prefix, background=False)
        try:
            deadline = time.monotonic() + 5
            while reader.get_quote(BTC) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert reader.get_quote(BTC) == quote
        finally:
            reader.close()
    finally:
        app.close()


def test_book_top_position_and_risk_state_are_readable_from_another_process(
    redis_url: str, prefix: str
) -> None:
    settings = replace(
        demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1"),
        redis=RedisSettings(cache=True, url=redis_url, prefix=prefix),
    )
    app = bootstrap(settings, feeds=[])
    try:
        now = time.time_ns()
        app.bus.publish(
            BookSnapshot.create(
                instrument_id=BTC,
                bids=[("29999.50", "1.25"), ("29999.00", "3")],
                asks=[("30000.50", "2"), ("30001.00", "4")],
                sequence=1,
                ts_event=now,
                ts_init=now,
            )
        )
        app.bus.publish(TradeTick(BTC, Decimal("30000"), Decimal("0.5"), AggressorSide.BUYER, "t1", now, now))
        intent = OrderIntent(
            strategy_id=strategy_id("manual"),
            instrument_id=BTC,
            side=OrderSide.BUY,
            quantity=Decimal("0.1"),
            order_type=OrderType.MARKET,
            ts_event=now,
        )
        app.bus.execute(SubmitOrder(intent=intent)).unwrap()
        reader = RedisCache(redis.Redis.from_url(redis_url), prefix=prefix, background=False)
        try:
            deadline = time.monotonic() + 5
            keys = (f"book_top:{BTC}", f"position:{BTC}", "risk_state")
            while any(reader.get(key) is None for key in keys) and time.monotonic() < deadline:
                time.sleep(0.02)
            top = json.loads(reader.get(keys[0]) or "null")
            assert top == {"bid": "29999.5", "bid_size": "1.25", "ask": "30000.5", "ask_size": "2", "ts": now}
            position = json.loads(reader.get(keys[1]) or "null")
            assert position["quantity"] == "0.1"
            assert Decimal(position["avg_entry_price"]) == Decimal("30000.5")
            risk = json.loads(reader.get(keys[2]) or "null")
            assert risk["state"] == "ACTIVE"
            assert Decimal(risk["equity"]) > 0
        finally:
            reader.close()
    finally:
        app.close()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"cache": "yes"}, "cache must be true or false"),
        ({"url": "http://x"}, "url must be redis://"),
        ({"prefix": ""}, "prefix must be"),
        ({"colour": 1}, "unknown key"),
    ],
)
def test_a_bad_redis_section_is_refused(table: dict[str, object], message: str) -> None:
    raw = {"instruments": [{"id": "BTCUSDT.BINANCE", "base": "BTC", "quote": "USDT", "price_tick": "0.01",
                            "lot_size": "0.001"}], "redis": table}  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw)
