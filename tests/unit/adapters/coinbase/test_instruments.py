"""Reading one product body into an Instrument, and what a bad body or answer is refused for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from adapters.exchanges.coinbase.errors import ProductLookupError
from adapters.exchanges.coinbase.instruments import CoinbaseInstrumentProvider, instrument_of
from domain.identifiers import InstrumentId

PRODUCT: dict[str, Any] = {
    "product_id": "BTC-USD",
    "price": "30000.00",
    "base_increment": "0.00000001",
    "quote_increment": "0.01",
    "base_min_size": "0.00000001",
    "base_max_size": "3400",
    "quote_min_size": "1",
    "quote_max_size": "150000000",
    "base_currency_id": "BTC",
    "quote_currency_id": "USD",
    "status": "online",
    "trading_disabled": False,
    "product_type": "SPOT",
}


def test_the_documented_product_body() -> None:
    instrument = instrument_of("BTC-USD", PRODUCT)
    assert instrument.id == InstrumentId("BTC-USD.COINBASE")
    assert (instrument.base, instrument.quote) == ("BTC", "USD")
    assert instrument.price_tick == Decimal("0.01")
    assert instrument.lot_size == Decimal("0.00000001")
    assert instrument.min_quantity == Decimal("0.00000001")
    assert instrument.min_notional == Decimal("1")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"product_id": "ETH-USD"}, "describes 'ETH-USD'"),
        ({"base_currency_id": None}, "base_currency_id"),
        ({"quote_increment": "0"}, "quote_increment"),
        ({"base_increment": 0.01}, "base_increment"),
        ({"base_min_size": "NaN"}, "base_min_size"),
        ({"base_min_size": "0.000000015"}, "min_quantity"),
    ],
)
def test_a_bad_body_is_refused_naming_the_product_and_field(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ProductLookupError, match="product BTC-USD") as raised:
        instrument_of("BTC-USD", {**PRODUCT, **change})
    assert problem in raised.value.problem


def _provider(status: int, content: bytes) -> CoinbaseInstrumentProvider:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    return CoinbaseInstrumentProvider("https://api.example", transport=transport)


def test_answers_that_are_not_a_product() -> None:
    ids = [InstrumentId("BTC-USD.COINBASE")]
    with pytest.raises(ProductLookupError, match="HTTP 503"):
        _provider(503, b"down for maintenance").instruments(ids)
    with pytest.raises(ProductLookupError, match="not JSON"):
        _provider(200, b"<html>").instruments(ids)
    assert _provider(200, orjson.dumps(PRODUCT)).instruments(ids)[0].lot_size == Decimal("0.00000001")
    assert _provider(200, b"").instruments([]) == []


def test_refuses_a_bad_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        CoinbaseInstrumentProvider("https://api.example", 0)
