"""``[redis] cache = true``: the engine's latest quotes land in Redis for other processes."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest
import redis

from adapters.redis.cache import RedisCache
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick
from entrypoints.config import ConfigError, RedisSettings, parse_settings
from entrypoints.container import bootstrap
from entrypoints.demo import demo_settings

pytestmark = pytest.mark.redis
BTC = InstrumentId("BTCUSDT.BINANCE")


def test_a_quote_the_engine_sees_is_readable_from_another_process(redis_url: str, prefix: str) -> None:
    settings = replace(
        demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1"),
        redis=RedisSettings(cache=True, url=redis_url, prefix=prefix),
    )
    engine = bootstrap(settings, feeds=[])
    try:
        now = time.time_ns()
        quote = QuoteTick(
            BTC, Decimal("29999.5"), Decimal("1.25"), Decimal("30000.5"), Decimal("2"), now, now
        )
        engine.bus.publish(quote)
        reader = RedisCache(redis.Redis.from_url(redis_url), prefix=prefix, background=False)
        try:
            deadline = time.monotonic() + 5
            while reader.get_quote(BTC) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert reader.get_quote(BTC) == quote
        finally:
            reader.close()
    finally:
        engine.close()


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
