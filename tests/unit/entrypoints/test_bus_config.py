"""``[bus]``: one process by default; Redis Streams settings checked with the rest of the file."""

from __future__ import annotations

import re
from typing import Any

import pytest

from entrypoints.config import ConfigError, apply_overrides, parse_settings, require_redis_bus

RAW: dict[str, Any] = {
    "instruments": [
        {"id": "BTCUSDT.BINANCE", "base": "BTC", "quote": "USDT", "price_tick": "0.01", "lot_size": "0.001"}
    ]
}


def test_the_default_bus_is_the_in_process_one() -> None:
    bus = parse_settings(RAW).bus
    assert bus.kind == "memory"
    assert bus.shards == 8
    assert not bus.cluster


def test_a_redis_bus_is_read_from_the_file_and_the_environment() -> None:
    raw = {**RAW, "bus": {"kind": "redis", "shards": 4, "cluster": True}}
    apply_overrides(raw, {"TRADEPLANE_BUS__DECISION_WAIT_MS": "250"})
    bus = parse_settings(raw).bus
    assert (bus.kind, bus.shards, bus.cluster, bus.decision_wait_ms) == ("redis", 4, True, 250)


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"kind": "kafka"}, "[bus] kind must be one of memory, redis"),
        ({"shards": 0}, "[bus] shards must be a whole number from 1 to 1024"),
        ({"shards": "8"}, "[bus] shards must be a whole number"),
        ({"shards": True}, "[bus] shards must be a whole number"),
        ({"lease_ttl_ms": 10}, "[bus] lease_ttl_ms must be a whole number from 500"),
        ({"market_maxlen": 10**12}, "[bus] market_maxlen must be a whole number"),
        ({"cluster": "yes"}, "[bus] cluster must be true or false"),
        ({"partitions": 3}, "[bus]: unknown key(s) partitions"),
    ],
)
def test_a_bad_bus_setting_is_named(table: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        parse_settings({**RAW, "bus": table})


def test_a_service_alone_needs_the_redis_bus() -> None:
    settings = parse_settings(RAW)
    require_redis_bus(settings, "all")  # one process needs no bus between processes
    for service in ("ingestion", "strategy", "execution"):
        with pytest.raises(ConfigError, match=re.escape('set [bus] kind = "redis"')):
            require_redis_bus(settings, service)
    require_redis_bus(parse_settings({**RAW, "bus": {"kind": "redis"}}), "strategy")
