"""GetConsolidatedQuote over a real server: best bid and ask of a pair across venues."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import grpc
import pytest
from tradeplane.v1 import market_data_pb2

from adapters.memory.feed import InMemoryFeed
from application.messages import FeedStatusChanged
from domain.identifiers import InstrumentId
from entrypoints.config import parse_settings
from entrypoints.container import bootstrap
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer
from tests.integration.grpc.support import (
    BTC,
    CALL_TIMEOUT_S,
    ETH,
    TEST_TIMEOUT_S,
    VIEWER,
    Env,
    Stubs,
    market_events,
    open_channel,
    quote,
    refused,
    settings_dict,
)

T = CALL_TIMEOUT_S
COINBASE = "BTC-USDT.COINBASE"
KRAKEN_USD = "BTC-USD.KRAKEN"


def _request(base: str, quote_: str) -> market_data_pb2.GetConsolidatedQuoteRequest:
    return market_data_pb2.GetConsolidatedQuoteRequest(base=base, quote=quote_)


async def _ask(env: Env, base: str, quote_: str) -> market_data_pb2.GetConsolidatedQuoteResponse:
    return await env.stub.market.GetConsolidatedQuote(_request(base, quote_), metadata=VIEWER, timeout=T)


async def _start_multi_venue() -> Env:
    """The default engine plus BTC-USDT.COINBASE and BTC-USD.KRAKEN (quotes published by the tests)."""
    raw = settings_dict()
    for symbol, quote_ in ((COINBASE, "USDT"), (KRAKEN_USD, "USD")):
        raw["instruments"].append(
            {
                "id": symbol,
                "base": "BTC",
                "quote": quote_,
                "price_tick": "0.01",
                "lot_size": "0.001",
                "min_quantity": "0.001",
                "min_notional": "5",
            }
        )
    settings = parse_settings(raw, source="<grpc-it-multi-venue>")
    feed = InMemoryFeed(market_events(time.time_ns()), name="memory")
    app = bootstrap(settings, feeds=[feed])
    await app.engine.start()
    await feed.wait_replayed()
    server = GrpcServer(
        app, settings.grpc, EngineInfo(name="it", version="0.0.0-test", mode="test", broker="paper")
    )
    port = await server.start()
    channel = open_channel(f"127.0.0.1:{port}", None)
    return Env(settings, app, feed, server, port, Stubs(channel), None, [channel])


@pytest.fixture
def multi(loop: asyncio.AbstractEventLoop) -> Iterator[Env]:
    env = loop.run_until_complete(asyncio.wait_for(_start_multi_venue(), TEST_TIMEOUT_S))
    yield env
    loop.run_until_complete(asyncio.wait_for(env.close(), TEST_TIMEOUT_S))
    assert env.app.bus.stats.handler_errors == 0


async def test_one_venue_gives_both_best_prices(env: Env) -> None:
    response = await _ask(env, "BTC", "USDT")
    assert (response.base, response.quote) == ("BTC", "USDT")
    assert (response.best_bid.price, response.best_bid.size, response.best_bid.venue) == (
        "29999.5",
        "1.5",
        "BINANCE",
    )
    assert (response.best_ask.price, response.best_ask.size) == ("30000.5", "1.25")
    assert response.best_ask.instrument_id == BTC
    assert not response.crossed
    assert [(line.instrument_id, line.usable) for line in response.venues] == [(BTC, True)]
    assert response.venues[0].time.seconds > 0


async def test_a_pair_without_a_quote_yet_answers_with_no_best_and_says_why(env: Env) -> None:
    response = await _ask(env, "ETH", "USDT")
    assert not response.HasField("best_bid")
    assert not response.HasField("best_ask")
    assert not response.crossed
    (line,) = response.venues
    assert (line.instrument_id, line.usable, line.bid_price) == (ETH, False, "")
    assert line.problem == "no quote received yet"
    assert not line.HasField("time")


async def test_an_unknown_pair_is_not_found_naming_it(env: Env) -> None:
    refusal = await refused(
        env.stub.market.GetConsolidatedQuote(_request("BTC", "USD"), metadata=VIEWER, timeout=T)
    )
    assert refusal.code == grpc.StatusCode.NOT_FOUND
    assert "BTC/USD" in refusal.message
    assert "BTC/USDT" in refusal.message  # the pairs there are


@pytest.mark.parametrize(
    ("base", "quote_", "field"),
    [
        ("", "USDT", "base"),
        ("BTC", "", "quote"),
        ("btc", "USDT", "base"),
        ("BTC", "US DT", "quote"),
        ("X" * 40, "USDT", "base"),
    ],
)
async def test_a_malformed_asset_code_is_invalid_naming_the_field(
    env: Env, base: str, quote_: str, field: str
) -> None:
    refusal = await refused(
        env.stub.market.GetConsolidatedQuote(_request(base, quote_), metadata=VIEWER, timeout=T)
    )
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.fields == (field,)
    assert refusal.message.startswith(f"{field}: ")


async def test_no_token_is_refused(env: Env) -> None:
    refusal = await refused(env.stub.market.GetConsolidatedQuote(_request("BTC", "USDT"), timeout=T))
    assert refusal.code == grpc.StatusCode.UNAUTHENTICATED


async def test_venues_are_compared_and_a_crossed_book_is_reported(multi: Env) -> None:
    multi.publish(quote("30001.00", "30002.00", instrument=COINBASE, bid_size="0.5"))
    multi.publish(quote("99999.00", "99999.50", instrument=KRAKEN_USD))  # BTC/USD: another pair
    response = await _ask(multi, "BTC", "USDT")
    assert [line.instrument_id for line in response.venues] == [COINBASE, BTC]
    assert (response.best_bid.price, response.best_bid.venue) == ("30001", "COINBASE")
    assert (response.best_ask.price, response.best_ask.venue) == ("30000.5", "BINANCE")
    assert response.crossed
    usd = await _ask(multi, "BTC", "USD")
    assert [line.venue for line in usd.venues] == ["KRAKEN"]
    assert usd.best_bid.price == "99999"


async def test_a_venue_whose_feed_is_down_is_listed_but_never_the_best(multi: Env) -> None:
    multi.publish(quote("30001.00", "30002.00", instrument=COINBASE))
    multi.publish(
        FeedStatusChanged(
            feed="coinbase",
            instruments=(InstrumentId(COINBASE),),
            connected=False,
            reason="socket closed",
            ts_event=time.time_ns(),
        )
    )
    response = await _ask(multi, "BTC", "USDT")
    assert response.best_bid.venue == "BINANCE"
    assert not response.crossed
    coinbase = response.venues[0]
    assert (coinbase.instrument_id, coinbase.usable, coinbase.bid_price) == (COINBASE, False, "30001")
    assert "socket closed" in coinbase.problem
