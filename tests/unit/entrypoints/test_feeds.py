"""Feed kinds: each [feeds.<kind>] table becomes its venue's config, instruments typed by id alone
are read from their venue (or refused with what to type instead), and the shipped example
configurations for each venue load and point at the venues' real public endpoints."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.market import RandomWalkMarket
from adapters.exchanges.simulator.trading import TradingVenue
from adapters.memory.clock import ManualClock
from entrypoints.config import PUBLISHING_VENUES, ConfigError, FeedSettings, parse_settings
from entrypoints.feeds import FEED_KINDS, build_feed, feed_config, venue_instruments
from entrypoints.validation import load_validated

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_venues_that_publish_instruments_are_those_whose_feed_reads_them() -> None:
    assert {kind.venue for kind in FEED_KINDS.values() if kind.instruments is not None} == PUBLISHING_VENUES


@pytest.mark.parametrize(
    ("kind", "options", "name"),
    [
        ("binance", {"instrument_ids": ["BTCUSDT.BINANCE"], "streams": ["trade"]}, "binance"),
        ("coinbase", {"instrument_ids": ["BTC-USD.COINBASE"], "channels": ["level2"]}, "coinbase"),
        ("kraken", {"instrument_ids": ["BTC-USD.KRAKEN"], "channels": ["book", "trade"]}, "kraken"),
    ],
)
def test_each_kind_builds_its_venue_feed_from_a_toml_table(
    kind: str, options: dict[str, object], name: str
) -> None:
    feed = build_feed(FeedSettings(kind=kind, options=options), ManualClock())
    assert feed.name == name
    assert not feed.health().connected


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("bitstamp", {}, "feed kind 'bitstamp' is unknown; known: binance, coinbase, kraken"),
        (
            "coinbase",
            {"instrument_ids": "BTC-USD.COINBASE"},
            r"\[feeds.coinbase\]: instrument_ids must be a list",
        ),
        ("coinbase", {"instrument_ids": ["BTCUSDT.BINANCE"]}, r"\[feeds.coinbase\]"),
        ("kraken", {"instrument_ids": ["BTC-USD.KRAKEN"], "book_depth": 7}, r"\[feeds.kraken\]"),
        ("kraken", {"instrument_ids": ["not an id"]}, r"\[feeds.kraken\]"),
    ],
)
def test_a_bad_table_is_refused_naming_it(kind: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        feed_config(FeedSettings(kind=kind, options=options))


def test_an_instrument_typed_by_id_alone_needs_its_venues_feed() -> None:
    settings = parse_settings({"instruments": [{"id": "BTC-USD.KRAKEN"}]}, source="<test>")
    assert settings.instruments == ()  # to be read from the venue
    with pytest.raises(ConfigError, match=r"no \[feeds.kraken\] to read them through"):
        venue_instruments(settings, ["BTC-USD.KRAKEN"])


def test_a_venue_that_cannot_be_read_is_named_with_what_to_type_instead() -> None:
    port = _closed_port()
    settings = parse_settings(
        {
            "instruments": [{"id": "BTC-USD.COINBASE"}],
            "feeds": {
                "coinbase": {"instrument_ids": ["BTC-USD.COINBASE"], "rest_url": f"http://127.0.0.1:{port}"}
            },
        },
        source="<test>",
    )
    with pytest.raises(
        ConfigError, match=r"BTC-USD\.COINBASE: the venue's instrument list could not be read"
    ) as caught:
        venue_instruments(settings, ["BTC-USD.COINBASE"])
    assert "type price_tick, lot_size, min_quantity and min_notional" in str(caught.value)


def test_an_instrument_of_a_venue_that_publishes_nothing_must_be_typed() -> None:
    with pytest.raises(ConfigError, match=r"\[\[instruments\]\] #1"):
        parse_settings({"instruments": [{"id": "BTCUSD.BITSTAMP"}]}, source="<test>")


def test_binance_instruments_typed_by_id_alone_are_read_from_its_public_exchange_info() -> None:
    venue = TradingVenue(
        market=RandomWalkMarket(("BTCUSDT",), 7), api_key="k" * 64, api_secret="s" * 64, balances={}, seed=7
    )
    with BackgroundLoop("exchange-info") as loop:
        loop.run(venue.start(host="127.0.0.1", port=0))
        try:
            settings = parse_settings(
                {
                    "instruments": [{"id": "BTCUSDT.BINANCE"}],
                    "feeds": {
                        "binance": {
                            "instrument_ids": ["BTCUSDT.BINANCE"],
                            "rest_url": venue.rest_url,
                            "use_system_proxy": False,
                        }
                    },
                },
                source="<test>",
            )
            (instrument,) = venue_instruments(settings, ["BTCUSDT.BINANCE"])
        finally:
            loop.run(venue.stop())
    assert (instrument.id, instrument.base, instrument.quote) == ("BTCUSDT.BINANCE", "BTC", "USDT")
    assert instrument.price_tick > 0
    assert instrument.lot_size > 0


@pytest.mark.parametrize(
    ("name", "hosts"),
    [
        ("coinbase.toml", {"coinbase": ("wss://advanced-trade-ws.coinbase.com", "https://api.coinbase.com")}),
        ("kraken.toml", {"kraken": ("wss://ws.kraken.com/v2",)}),
        (
            "three-venues.toml",
            {"binance": ("wss://stream.binance.com:9443",), "kraken": ("wss://ws.kraken.com/v2",)},
        ),
    ],
)
def test_the_example_configurations_load_and_point_at_the_real_venues(
    name: str, hosts: dict[str, tuple[str, ...]]
) -> None:
    settings = load_validated(EXAMPLES / name, environ={})
    by_kind = {feed.kind: feed_config(feed) for feed in settings.feeds}
    for kind, urls in hosts.items():
        config = by_kind[kind]
        assert config.ws_url == urls[0]
        if len(urls) > 1:
            assert config.rest_url == urls[1]
    for feed in settings.feeds:
        assert set(feed_config(feed).instrument_ids) <= set(settings.instrument_ids)
