"""``[broker]``: the kinds, instruments a venue defines, and keys that never sit in the file."""

from __future__ import annotations

import pytest

from application.ports import BrokerHealth
from entrypoints.brokers import build_instruments, describe, live_banner
from entrypoints.config import ConfigError, parse_settings

BASE = {
    "instruments": [{"id": "BTCUSDT.BINANCE"}],
    "broker": {"kind": "binance"},
    "storage": {"kind": "memory"},
}


def test_a_venue_that_defines_its_instruments_takes_ids_alone() -> None:
    settings = parse_settings(BASE, source="<test>")
    assert settings.instrument_ids == ("BTCUSDT.BINANCE",)
    assert settings.instruments == ()


def test_typed_rules_are_kept_to_compare_with_the_venues() -> None:
    typed = {
        "id": "BTCUSDT.BINANCE",
        "base": "BTC",
        "quote": "USDT",
        "price_tick": "0.01",
        "lot_size": "0.001",
    }
    settings = parse_settings({**BASE, "instruments": [typed]}, source="<test>")
    assert [i.id for i in settings.instruments] == ["BTCUSDT.BINANCE"]


def test_the_paper_venue_needs_the_rules_typed_or_a_feed_to_read_them_through() -> None:
    settings = parse_settings({**BASE, "broker": {"kind": "paper"}}, source="<test>")
    assert settings.instruments == ()  # to be read from the venue's public endpoint
    with pytest.raises(ConfigError, match=r"no \[feeds.binance\] to read them through"):
        build_instruments(settings)
    with pytest.raises(ConfigError, match=r"\[\[instruments\]\] #1"):
        parse_settings(
            {**BASE, "instruments": [{"id": "BTCUSD.BITSTAMP"}], "broker": {"kind": "paper"}}, source="<test>"
        )


@pytest.mark.parametrize("key", ["api_key", "api_secret", "API_SECRET", "secret"])
def test_a_key_in_the_file_is_refused_without_echoing_it(key: str) -> None:
    value = "s3cr3t-value-that-must-not-echo"
    with pytest.raises(ConfigError) as caught:
        parse_settings({**BASE, "broker": {"kind": "binance", key: value}}, source="<test>")
    message = str(caught.value)
    assert "tradeplane keys add" in message
    assert value not in message


@pytest.mark.parametrize(
    ("instruments", "expected"),
    [
        ([], "at least one"),
        ([{"id": "btcusdt"}], "SYMBOL.VENUE"),
        ([{"id": 7}], "SYMBOL.VENUE"),
        ([{"id": "BTCUSDT.BINANCE"}, {"id": "BTCUSDT.BINANCE"}], "unique"),
        ([{"id": "BTCUSDT.BINANCE", "colour": "red"}], "colour"),
        ("BTCUSDT.BINANCE", "at least one"),
    ],
)
def test_bad_instrument_lists_are_named(instruments: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_settings({**BASE, "instruments": instruments}, source="<test>")


def test_an_unknown_broker_kind_is_named() -> None:
    settings = parse_settings(
        {
            **BASE,
            "broker": {"kind": "ftx"},
            "instruments": [
                {
                    "id": "BTCUSDT.BINANCE",
                    "base": "BTC",
                    "quote": "USDT",
                    "price_tick": "0.01",
                    "lot_size": "1",
                }
            ],
        },
        source="<test>",
    )
    with pytest.raises(ConfigError, match="broker kind 'ftx' is unknown; known: paper, binance"):
        build_instruments(settings)


def test_live_trading_must_be_asked_for_in_so_many_words() -> None:
    live = parse_settings({**BASE, "broker": {"kind": "binance", "environment": "live"}}, source="<test>")
    with pytest.raises(ConfigError, match="live_trading = true"):
        build_instruments(live)  # refused before anything is asked of the venue
    sloppy = {"kind": "binance", "environment": "live", "live_trading": "yes"}
    with pytest.raises(ConfigError, match="live_trading must be true or false"):
        build_instruments(parse_settings({**BASE, "broker": sloppy}, source="<test>"))


def test_an_unknown_environment_is_named() -> None:
    settings = parse_settings({**BASE, "broker": {"kind": "binance", "environment": "prod"}}, source="<test>")
    with pytest.raises(ConfigError, match="environment"):
        build_instruments(settings)


class _Live:
    name = "binance"
    supports_stop_orders = True
    spot_account = True

    def __init__(self, environment: str) -> None:
        self.environment = environment

    def health(self) -> BrokerHealth:
        return BrokerHealth(
            name="binance", environment=self.environment, account="uid 9 (SPOT)", connected=True
        )

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def busy(self, client_order_id: str) -> bool:
        return False

    async def venue_view(self, client_order_ids: object) -> object:
        return self


def test_a_banner_names_the_account_when_real_funds_are_at_stake() -> None:
    settings = parse_settings(BASE, source="<test>")
    banner = live_banner(settings, _Live("live"))  # type: ignore[arg-type]
    assert banner is not None
    assert "LIVE TRADING" in banner
    assert "uid 9 (SPOT)" in banner
    assert live_banner(settings, _Live("testnet")) is None  # type: ignore[arg-type]
    assert (
        describe(settings, _Live("testnet")) == "broker: binance, environment testnet, account uid 9 (SPOT)"
    )  # type: ignore[arg-type]


def test_an_unknown_binance_option_is_named_with_every_option_there_is() -> None:
    settings = parse_settings({**BASE, "broker": {"kind": "binance", "latency_ns": 0}}, source="<test>")
    with pytest.raises(ConfigError) as caught:
        build_instruments(settings)
    message = str(caught.value)
    assert "latency_ns" in message
    assert "recv_window_ms" in message  # the adapter's options
    assert "reconcile_interval_s" in message  # and the engine's
    assert message.count("[broker] binance") == 1
