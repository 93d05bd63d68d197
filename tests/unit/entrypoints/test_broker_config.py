"""``[broker]``: the kinds, instruments a venue defines, and keys that never sit in the file."""

from __future__ import annotations

import pytest

from entrypoints.brokers import build_instruments
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


def test_the_paper_venue_needs_the_rules_typed() -> None:
    with pytest.raises(ConfigError, match=r"\[\[instruments\]\] #1"):
        parse_settings({**BASE, "broker": {"kind": "paper"}}, source="<test>")


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
