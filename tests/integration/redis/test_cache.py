"""RedisCache against a real Redis: exact round trips, and an engine that shrugs off Redis outages."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import orjson
import pytest
import redis

from adapters.redis.cache import RedisCache
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick
from tests.builders import BTCUSDT, ETHUSDT, TS
from tests.integration.redis.proxy import Proxy

pytestmark = pytest.mark.redis


def quote(n: int, instrument_id: InstrumentId = BTCUSDT) -> QuoteTick:
    return QuoteTick.create(
        instrument_id=instrument_id,
        bid_price=Decimal("65000.10") + n,
        bid_size="0.00100000",
        ask_price=Decimal("65000.20") + n,
        ask_size="1E-8",
        ts_event=TS + n,
        ts_init=TS + n + 1,
    )


def eventually(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_quotes_and_values_round_trip_exactly_for_other_processes(
    redis_url: str, prefix: str, admin: redis.Redis
) -> None:
    written = quote(0)
    with RedisCache(redis_url, prefix=prefix) as writer:
        writer.set_quote(written)
        writer.set("position:BTCUSDT.BINANCE", "0.12345678901234567890")
        # The write-behind thread writes on its own, shortly after.
        eventually(lambda: admin.get(f"{prefix}kv:position:BTCUSDT.BINANCE") is not None)
        eventually(lambda: admin.get(f"{prefix}quote:BTCUSDT.BINANCE") is not None)
        assert writer.healthy
        assert writer.writes == 2

    with RedisCache(redis_url, prefix=prefix) as reader:  # another process: nothing local
        read = reader.get_quote(BTCUSDT)
        assert read == written
        assert repr(read) == repr(written)  # "0.00100000" and "1E-8" kept digit for digit
        assert reader.get("position:BTCUSDT.BINANCE") == "0.12345678901234567890"
        assert reader.get_quote(ETHUSDT) is None
        assert reader.get("nothing") is None

    stored = orjson.loads(admin.get(f"{prefix}quote:BTCUSDT.BINANCE"))  # type: ignore[arg-type]
    assert stored["bid_size"] == "0.00100000"  # readable by any client, decimals as strings
    assert stored["type"] == "QuoteTick"


def test_a_burst_of_quotes_coalesces_to_the_latest_per_instrument(
    redis_url: str, prefix: str, admin: redis.Redis
) -> None:
    with RedisCache(redis_url, prefix=prefix, flush_interval_s=0.02) as cache:
        for n in range(500):
            cache.set_quote(quote(n))
            cache.set_quote(quote(n, ETHUSDT))
        assert cache.flush()
        assert cache.get_quote(BTCUSDT) == quote(499)
        assert cache.writes < 1000
        assert cache.coalesced > 0
        assert cache.writes + cache.coalesced == 1000
    with RedisCache(redis_url, prefix=prefix) as reader:
        assert reader.get_quote(BTCUSDT) == quote(499)
        assert reader.get_quote(ETHUSDT) == quote(499, ETHUSDT)


def test_an_unreachable_redis_never_raises_into_the_engine(closed_port_url: str, prefix: str) -> None:
    with RedisCache(closed_port_url, prefix=prefix, background=False, backoff_s=30.0) as cache:
        cache.set_quote(quote(1))  # the one attempt: refused at once
        assert not cache.healthy
        assert "ConnectionError" in cache.last_error
        assert cache.failures == 1

        started = time.perf_counter()
        for n in range(2, 200):
            cache.set_quote(quote(n))
            cache.set("risk:state", f"state {n}")
            assert cache.get("someone else's key") is None
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"{elapsed:.3f} s for 600 calls: the backoff must skip Redis entirely"
        assert cache.failures == 1  # no new attempt during the backoff

        assert cache.get_quote(BTCUSDT) == quote(199)  # reads fall back to what was written locally
        assert cache.get("risk:state") == "state 199"
        assert cache.pending == 2  # latest per key, kept for when Redis is back
        assert not cache.flush()


def test_redis_going_away_mid_run_then_coming_back(proxy: Proxy, prefix: str, admin: redis.Redis) -> None:
    key = f"{prefix}quote:BTCUSDT.BINANCE"
    with RedisCache(proxy.url, prefix=prefix, backoff_s=0.2, flush_interval_s=0.001) as cache:
        cache.set_quote(quote(1))
        eventually(lambda: admin.get(key) is not None)

        proxy.down()
        slowest = 0.0
        for n in range(2, 300):
            started = time.perf_counter()
            cache.set_quote(quote(n))
            cache.set_quote(quote(n, ETHUSDT))
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.001)
        eventually(lambda: not cache.healthy)
        assert slowest < 0.1, f"an engine call took {slowest * 1000:.1f} ms while Redis was down"
        assert cache.last_error
        assert cache.get_quote(BTCUSDT) == quote(299)
        assert orjson.loads(admin.get(key))["ts_event"] == TS + 1  # type: ignore[arg-type]  # still the old one

        proxy.up()
        eventually(lambda: cache.healthy and cache.pending == 0)
        health = cache.health()
        assert health.healthy
        assert health.failures >= 1
        assert health.last_error  # kept after recovery for the operator

    with RedisCache(admin, prefix=prefix) as reader:
        assert reader.get_quote(BTCUSDT) == quote(299)
        assert reader.get_quote(ETHUSDT) == quote(299, ETHUSDT)


def test_a_hung_redis_costs_one_short_timeout_then_nothing_until_the_backoff_ends(
    proxy: Proxy, prefix: str, admin: redis.Redis
) -> None:
    with RedisCache(proxy.url, prefix=prefix, background=False, timeout_s=0.05, backoff_s=0.3) as cache:
        cache.set_quote(quote(1))
        assert cache.healthy

        proxy.hang()  # connections stay open, nothing answers
        started = time.perf_counter()
        cache.set_quote(quote(2))
        first = time.perf_counter() - started
        assert 0.04 < first < 0.5, f"the hung call took {first:.3f} s"
        assert not cache.health().healthy  # not the property: mypy keeps it narrowed to True
        assert "Timeout" in cache.last_error

        started = time.perf_counter()
        for n in range(3, 103):
            cache.set_quote(quote(n))
        assert time.perf_counter() - started < 0.2  # backoff: no I/O at all
        assert cache.failures == 1

        proxy.up()
        time.sleep(0.35)  # the backoff ends
        cache.set_quote(quote(103))  # writes everything pending
        assert cache.healthy
        assert cache.pending == 0
    with RedisCache(admin, prefix=prefix) as reader:
        assert reader.get_quote(BTCUSDT) == quote(103)


def test_the_background_writer_never_blocks_the_engine_on_a_hung_redis(proxy: Proxy, prefix: str) -> None:
    with RedisCache(proxy.url, prefix=prefix, timeout_s=0.2, backoff_s=0.2) as cache:
        cache.set_quote(quote(0))
        assert cache.flush()
        proxy.hang()
        slowest = 0.0
        deadline = time.monotonic() + 0.5
        n = 0
        while time.monotonic() < deadline:
            n += 1
            started = time.perf_counter()
            cache.set_quote(quote(n))
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.001)
        assert slowest < 0.1, f"an engine call took {slowest * 1000:.1f} ms while Redis hung (timeout 0.2 s)"
        assert not cache.healthy
        proxy.up()
        eventually(lambda: cache.healthy and cache.pending == 0, timeout_s=5.0)


def test_keys_and_values_must_be_strings(redis_url: str, prefix: str) -> None:
    with RedisCache(redis_url, prefix=prefix) as cache, pytest.raises(TypeError, match="strings"):
        cache.set("limit", Decimal("1"))  # type: ignore[arg-type]


def test_close_writes_what_is_pending_and_can_be_called_twice(
    redis_url: str, prefix: str, admin: redis.Redis
) -> None:
    cache = RedisCache(redis_url, prefix=prefix, flush_interval_s=10.0)  # the thread would wait 10 s
    cache.set("k", "v")
    cache.close()
    cache.close()
    assert admin.get(f"{prefix}kv:k") == b"v"
