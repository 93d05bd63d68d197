"""KrakenInstrumentProvider against the Kraken simulator and a scripted server, over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from websockets.asyncio.server import ServerConnection, serve

from adapters.exchanges.kraken.errors import InstrumentLookupError
from adapters.exchanges.kraken.instruments import KrakenInstrumentProvider
from adapters.exchanges.simulator.kraken import KrakenSimulator
from application.ports import InstrumentProvider
from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from tests.unit.adapters.kraken.vectors import INSTRUMENT_SNAPSHOT

BTC = InstrumentId("BTC-USD.KRAKEN")
ETH = InstrumentId("ETH-USD.KRAKEN")


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 10))


@asynccontextmanager
async def scripted(*replies: bytes) -> AsyncIterator[str]:
    """A server that answers the first request with ``replies`` and then stays quiet."""

    async def handler(connection: ServerConnection) -> None:
        await connection.recv()
        for reply in replies:
            await connection.send(reply.decode())
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v2"


def test_the_simulators_pairs_become_instruments() -> None:
    async def scenario() -> None:
        sim = KrakenSimulator(symbols=("BTC/USD", "ETH/USD"), seed=7)
        await sim.start()
        try:
            provider = KrakenInstrumentProvider(sim.ws_url, timeout=3)
            instruments = await asyncio.to_thread(provider.instruments, [ETH, BTC])
        finally:
            await sim.stop()
        assert [i.id for i in instruments] == [ETH, BTC]
        btc = instruments[1]
        assert (btc.base, btc.quote) == ("BTC", "USD")
        assert btc.price_tick == sim.params.tick_size
        assert btc.lot_size == sim.params.lot_size
        assert btc.min_notional == Decimal("0.5")

    run(scenario)


def test_the_documented_pair_and_the_fallbacks_of_missing_increments() -> None:
    async def scenario() -> None:
        bare = INSTRUMENT_SNAPSHOT.replace(b'"qty_increment":0.00000001,', b"").replace(
            b'"tick_size":0.1,"price_increment":0.1,', b""
        )
        for raw, tick in ((INSTRUMENT_SNAPSHOT, "0.1"), (bare, "0.1")):
            async with scripted(
                b'{"channel":"status","type":"update","data":[]}', b'{"channel":"heartbeat"}', raw
            ) as url:
                provider: InstrumentProvider = KrakenInstrumentProvider(url, timeout=3)
                (btc,) = await asyncio.to_thread(provider.instruments, [BTC])
            assert btc.price_tick == Decimal(tick)
            assert btc.lot_size == Decimal("0.00000001")
            assert (btc.min_quantity, btc.min_notional) == (Decimal("0.0001"), Decimal("0.5"))

    run(scenario)


@pytest.mark.parametrize(
    ("replies", "ids", "message"),
    [
        ((INSTRUMENT_SNAPSHOT,), [ETH], "ETH/USD"),
        (
            (INSTRUMENT_SNAPSHOT.replace(b'"price_precision":1', b'"price_precision":"1"'),),
            [BTC],
            "BTC/USD price_precision",
        ),
        ((INSTRUMENT_SNAPSHOT.replace(b'"qty_min":0.0001', b'"qty_min":0.000000015'),), [BTC], "BTC/USD"),
        (
            (b'{"error":"Channel not supported","method":"subscribe","success":false,"req_id":1}',),
            [BTC],
            "refused",
        ),
        ((), [BTC], "within"),
    ],
)
def test_errors_name_the_pair_or_the_cause(
    replies: tuple[bytes, ...], ids: list[InstrumentId], message: str
) -> None:
    async def scenario() -> None:
        async with scripted(*replies) as url:
            provider = KrakenInstrumentProvider(url, timeout=1)
            with pytest.raises(InstrumentLookupError, match=message):
                await asyncio.to_thread(provider.instruments, ids)

    run(scenario)


def test_nothing_listening_and_bad_arguments() -> None:
    provider = KrakenInstrumentProvider("ws://127.0.0.1:9/v2", timeout=1)
    with pytest.raises(InstrumentLookupError, match=r"127\.0\.0\.1"):
        provider.instruments([BTC])
    with pytest.raises(InstrumentLookupError, match="not a KRAKEN instrument"):
        provider.instruments([InstrumentId("BTCUSDT.BINANCE")])
    assert provider.instruments([]) == []
    with pytest.raises(InvalidParameter):
        KrakenInstrumentProvider("http://x", timeout=1)
    with pytest.raises(InvalidParameter):
        KrakenInstrumentProvider("ws://x", timeout=0)
