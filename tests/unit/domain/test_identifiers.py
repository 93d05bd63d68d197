"""domain.identifiers: instrument ids, client order ids and strategy ids."""

from __future__ import annotations

import re

import pytest

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId, client_order_id, strategy_id

MALFORMED_INSTRUMENT_IDS = [
    "",
    ".",
    "BTCUSDT",  # no venue
    "BTCUSDT.",  # empty venue
    ".BINANCE",  # empty symbol
    "btcusdt.binance",  # lower case
    "BTCUSDT.binance",
    "btcusdt.BINANCE",
    "BTCUSDT.1BINANCE",  # a venue starts with a letter
    "BTC USDT.BINANCE",  # space
    " BTCUSDT.BINANCE",
    "BTCUSDT.BINANCE ",
    "BTCUSDT.BINANCE\n",
    "BTC.USDT.BINANCE",  # a dot inside the symbol
    "-BTCUSDT.BINANCE",  # a symbol starts with a letter or digit
    "BTCUSDT.BIN-ANCE",  # no dash in a venue
    "B" * 33 + ".BINANCE",  # symbol longer than 32
    "BTCUSDT." + "B" * 17,  # venue longer than 16
    "BTCÜSDT.BINANCE",  # unicode letters
    "ΒTCUSDT.BINANCE",  # Greek capital beta, looks like B
    "BTCUSDT.ВINANCE",  # Cyrillic capital ve, looks like B
    "BTC１USDT.BINANCE",  # full-width digit
    "BTCUSDT.BINANCE\u200b",  # zero-width space
]


@pytest.mark.parametrize(
    ("raw", "symbol", "venue"),
    [
        ("BTCUSDT.BINANCE", "BTCUSDT", "BINANCE"),
        ("BTC-USD.COINBASE", "BTC-USD", "COINBASE"),
        ("XBT/USD.KRAKEN", "XBT/USD", "KRAKEN"),
        ("1INCHUSDT.BINANCE", "1INCHUSDT", "BINANCE"),
        ("ETH_USDT.SIM_2", "ETH_USDT", "SIM_2"),
        ("B" * 32 + ".V", "B" * 32, "V"),
        ("A.V" + "1" * 15, "A", "V" + "1" * 15),
    ],
)
def test_instrument_id_accepts_symbol_dot_venue_and_splits_it(raw: str, symbol: str, venue: str) -> None:
    instrument_id = InstrumentId(raw)
    assert instrument_id == raw
    assert instrument_id.symbol == symbol
    assert instrument_id.venue == venue


@pytest.mark.parametrize("raw", MALFORMED_INSTRUMENT_IDS)
def test_instrument_id_refuses_malformed_ids_naming_the_field_and_value(raw: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape("instrument_id must look like SYMBOL.VENUE")) as caught:
        InstrumentId(raw)
    assert caught.value.field == "instrument_id"
    assert caught.value.value == raw


@pytest.mark.parametrize("raw", [None, 42, b"BTCUSDT.BINANCE", ("BTCUSDT", "BINANCE")])
def test_instrument_id_refuses_non_strings(raw: object) -> None:
    with pytest.raises(InvalidValue, match="instrument_id must be a string"):
        InstrumentId(raw)  # type: ignore[arg-type]


def test_instrument_id_is_a_string_that_hashes_like_its_text() -> None:
    instrument_id = InstrumentId("ETHUSDT.BINANCE")
    assert isinstance(instrument_id, str)
    assert {instrument_id: 1}["ETHUSDT.BINANCE"] == 1


def test_instrument_id_of_an_instrument_id_is_the_same_object() -> None:
    instrument_id = InstrumentId("ETHUSDT.BINANCE")
    assert InstrumentId(instrument_id) is instrument_id


def test_instrument_id_of_upper_cases_the_parts() -> None:
    assert InstrumentId.of("btcusdt", "binance") == "BTCUSDT.BINANCE"


@pytest.mark.parametrize(("symbol", "venue"), [("btc.usdt", "binance"), ("", "binance"), ("btcusdt", "")])
def test_instrument_id_of_still_validates_the_result(symbol: str, venue: str) -> None:
    with pytest.raises(InvalidValue, match="instrument_id"):
        InstrumentId.of(symbol, venue)


@pytest.mark.parametrize("raw", ["O-1", "a", "x" * 64, "strat:BTCUSDT:000017", "Ab_9-.:"])
def test_client_order_id_accepts_venue_safe_text_up_to_64_characters(raw: str) -> None:
    assert client_order_id(raw) == raw


@pytest.mark.parametrize(
    "raw", ["", "x" * 65, "O 1", "O/1", "O#1", "ordre-été", "O-1\n", "\u200b", None, 17, b"O-1"]
)
def test_client_order_id_refuses_empty_long_unsafe_and_non_string_values(raw: object) -> None:
    with pytest.raises(InvalidValue, match="client_order_id must be 1-64 characters") as caught:
        client_order_id(raw)  # type: ignore[arg-type]
    assert caught.value.value == raw


@pytest.mark.parametrize("raw", ["sma-cross", "s1", "mean_reversion:v2.1", "S" * 64])
def test_strategy_id_accepts_names_up_to_64_characters(raw: str) -> None:
    assert strategy_id(raw) == raw


@pytest.mark.parametrize("raw", ["", "S" * 65, "sma cross", "sma/cross", "stratégie", None, 3])
def test_strategy_id_refuses_empty_long_unsafe_and_non_string_values(raw: object) -> None:
    with pytest.raises(InvalidValue, match="strategy_id must be 1-64 characters"):
        strategy_id(raw)  # type: ignore[arg-type]
