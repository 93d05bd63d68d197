"""CoinbaseInstrumentProvider against the simulator's public product endpoint (loopback HTTP)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.exchanges.coinbase.errors import ProductLookupError
from adapters.exchanges.coinbase.instruments import CoinbaseInstrumentProvider
from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from application.ports import InstrumentProvider
from domain.identifiers import InstrumentId
from domain.instrument import Instrument

BTC = InstrumentId("BTC-USD.COINBASE")
ETH = InstrumentId("ETH-USD.COINBASE")


def _ask(ids: tuple[InstrumentId, ...]) -> list[Instrument]:
    """Start the simulator, ask the (blocking) provider from a thread, stop the simulator."""

    async def scenario() -> list[Instrument]:
        sim = CoinbaseSimulator(products=("BTC-USD", "ETH-USD"), seed=7, rate=20.0)
        await sim.start()
        try:
            provider: InstrumentProvider = CoinbaseInstrumentProvider(
                sim.rest_url, 5.0, use_system_proxy=False
            )
            return list(await asyncio.to_thread(provider.instruments, ids))
        finally:
            await sim.stop()

    return asyncio.run(asyncio.wait_for(scenario(), 15))


def test_instruments_from_the_product_endpoint() -> None:
    btc, eth = _ask((BTC, ETH))
    assert btc.id == BTC
    assert (btc.base, btc.quote) == ("BTC", "USD")
    assert eth.id == ETH
    assert (eth.base, eth.quote) == ("ETH", "USD")
    for instrument in (btc, eth):
        assert instrument.price_tick == Decimal("0.01")
        assert instrument.lot_size == Decimal("0.001")
        assert instrument.min_quantity == Decimal("0.001")
        assert instrument.min_notional == Decimal("1")


def test_an_unknown_product_is_refused_naming_it() -> None:
    with pytest.raises(
        ProductLookupError, match=r"product DOGE-EUR: the venue does not list it.*ProductID is invalid"
    ):
        _ask((BTC, InstrumentId("DOGE-EUR.COINBASE")))


def test_another_venues_instrument_is_refused() -> None:
    provider = CoinbaseInstrumentProvider("http://127.0.0.1:9", 1.0, use_system_proxy=False)
    with pytest.raises(ValueError, match=r"BTCUSDT\.BINANCE is not on COINBASE"):
        provider.instruments([InstrumentId("BTCUSDT.BINANCE")])


def test_an_unreachable_endpoint_names_the_product() -> None:
    provider = CoinbaseInstrumentProvider("http://127.0.0.1:9", 1.0, use_system_proxy=False)
    with pytest.raises(
        ProductLookupError, match="product BTC-USD: GET /api/v3/brokerage/market/products/BTC-USD"
    ):
        provider.instruments([BTC])
