"""Coinbase frame parsing on the venue's published examples and on malformed or hostile input."""

from __future__ import annotations

import contextlib
import copy
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.coinbase.errors import MalformedFrame
from adapters.exchanges.coinbase.parsing import parse_frame
from adapters.exchanges.coinbase.schemas import (
    BookMessage,
    Heartbeat,
    Message,
    Quotes,
    Subscriptions,
    Trades,
    VenueError,
)
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick, TradeTick
from domain.values import AggressorSide
from tests.unit.adapters.coinbase import examples

TS_INIT = 1_700_000_000_123_456_789
BTC = InstrumentId("BTC-USD.COINBASE")
ETH = InstrumentId("ETH-USD.COINBASE")


def _frame(channel: str, events: list[Any], *, sequence: int = 7) -> bytes:
    return orjson.dumps(
        {
            "channel": channel,
            "client_id": "",
            "timestamp": "2023-02-09T20:32:50.714964855Z",
            "sequence_num": sequence,
            "events": events,
        }
    )


def _update(side: str, price: str, size: str, when: str = "2023-02-09T20:32:50.01Z") -> dict[str, str]:
    return {"side": side, "event_time": when, "price_level": price, "new_quantity": size}


# -- the published examples ----------------------------------------------------------------


def test_level2_snapshot_example() -> None:
    message = parse_frame(examples.LEVEL2, TS_INIT)
    assert message.channel == "l2_data"
    assert message.sequence == 0
    (book,) = message.events
    assert book == BookMessage(
        BTC,
        True,
        ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21921.3"), Decimal("0.02"))),
        (),
        1675974770714964855,  # the entries carry the epoch placeholder: the envelope's time
    )


def test_market_trades_example_maker_side_means_the_seller_aggressed() -> None:
    message = parse_frame(examples.MARKET_TRADES, TS_INIT)
    (trades,) = message.events
    assert trades == Trades(
        True,
        (
            TradeTick(
                ETH,
                Decimal("1260.01"),
                Decimal("0.3"),
                AggressorSide.SELLER,
                "000000000",
                1565815347265000000,
                TS_INIT,
            ),
        ),
    )


def test_market_trades_side_read_as_the_takers_when_configured() -> None:
    message = parse_frame(examples.MARKET_TRADES, TS_INIT, trade_side_is_maker=False)
    (trades,) = message.events
    assert isinstance(trades, Trades)
    assert trades.ticks[0].aggressor is AggressorSide.BUYER


def test_ticker_example() -> None:
    message = parse_frame(examples.TICKER, TS_INIT)
    assert message.events == (
        Quotes(
            (
                QuoteTick(
                    BTC,
                    Decimal("21931.98"),
                    Decimal("8000.21"),
                    Decimal("21933.98"),
                    Decimal("8038.07770938"),
                    1675974637167359596,
                    TS_INIT,
                ),
            ),
            0,
        ),
    )


def test_heartbeats_example_counter_as_string_and_as_integer() -> None:
    assert parse_frame(examples.HEARTBEATS, TS_INIT).events == (Heartbeat(3049),)
    as_int = orjson.loads(examples.HEARTBEATS)
    as_int["events"][0]["heartbeat_counter"] = 3050
    assert parse_frame(orjson.dumps(as_int), TS_INIT).events == (Heartbeat(3050),)


def test_subscriptions_confirmation() -> None:
    message = parse_frame(examples.SUBSCRIPTIONS, TS_INIT)
    assert message.events == (
        Subscriptions({"level2": ("BTC-USD",), "market_trades": ("BTC-USD", "ETH-USD")}),
    )


def test_error_message() -> None:
    message = parse_frame(b'{"type":"error","message":"failure to subscribe"}', TS_INIT)
    assert message == Message("error", None, (VenueError("failure to subscribe"),))


# -- level2 specifics ------------------------------------------------------------------------


@pytest.mark.parametrize("ask_side", ["offer", "ask"])
def test_update_sides_bid_offer_and_ask(ask_side: str) -> None:
    frame = _frame(
        "l2_data",
        [
            {
                "type": "update",
                "product_id": "BTC-USD",
                "updates": [_update("bid", "100.5", "0"), _update(ask_side, "101", "2.5")],
            }
        ],
    )
    (book,) = parse_frame(frame, TS_INIT).events
    assert isinstance(book, BookMessage)
    assert not book.snapshot
    assert book.bids == ((Decimal("100.5"), Decimal(0)),)
    assert book.asks == ((Decimal("101"), Decimal("2.5")),)
    assert book.ts_event == 1675974770010000000  # the entries' event_time, not the envelope's


def test_update_takes_the_latest_event_time() -> None:
    updates = [
        _update("bid", "1", "1", "2023-02-09T20:32:50.3Z"),
        _update("bid", "2", "1", "2023-02-09T20:32:50.5Z"),
        _update("bid", "3", "1", "2023-02-09T20:32:50.4Z"),
    ]
    frame = _frame("l2_data", [{"type": "update", "product_id": "BTC-USD", "updates": updates}])
    (book,) = parse_frame(frame, TS_INIT).events
    assert isinstance(book, BookMessage)
    assert book.ts_event == 1675974770500000000


# -- unknown, malformed, hostile -------------------------------------------------------------


def test_unknown_channel_is_not_an_error_and_keeps_its_sequence() -> None:
    message = parse_frame(_frame("candles", [{"type": "snapshot"}], sequence=42), TS_INIT)
    assert not message.known
    assert message.sequence == 42
    assert message.events == ()


@pytest.mark.parametrize(
    "raw",
    [b'{"channel":"no_such_channel","events":[]}', b'{"type":"mystery"}', b'{"type":"status"}'],
)
def test_unknown_kinds_without_an_envelope_are_unknown_not_malformed(raw: bytes) -> None:
    message = parse_frame(raw, TS_INIT)
    assert not message.known
    assert message.sequence is None


def test_unknown_event_type_inside_a_known_channel_is_skipped_and_counted() -> None:
    frame = _frame("l2_data", [{"type": "rebate", "product_id": "BTC-USD"}])
    message = parse_frame(frame, TS_INIT)
    assert message.known
    assert message.events == ()
    assert message.ignored == 1


def test_ticker_without_a_side_or_crossed_gives_no_quote() -> None:
    base = orjson.loads(examples.TICKER)
    tickers = base["events"][0]["tickers"]
    missing = dict(tickers[0], best_bid="")
    absent = {k: v for k, v in tickers[0].items() if k != "best_ask_quantity"}
    crossed = dict(tickers[0], best_bid="21940", best_ask="21933.98")
    base["events"][0]["tickers"] = [missing, absent, crossed, tickers[0]]
    (quotes,) = parse_frame(orjson.dumps(base), TS_INIT).events
    assert isinstance(quotes, Quotes)
    assert quotes.skipped == 3
    assert len(quotes.ticks) == 1


def _mutated(example: bytes, path: tuple[Any, ...], value: Any) -> bytes:
    message = copy.deepcopy(orjson.loads(example))
    target = message
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return orjson.dumps(message)


_DELETE = object()
_L2_ENTRY = ("events", 0, "updates", 0)
_TRADE = ("events", 0, "trades", 0)
_TICKER = ("events", 0, "tickers", 0)

HOSTILE = [
    (examples.LEVEL2, ("sequence_num",), "0"),
    (examples.LEVEL2, ("sequence_num",), -1),
    (examples.LEVEL2, ("sequence_num",), True),
    (examples.LEVEL2, ("channel",), 5),
    (examples.LEVEL2, ("timestamp",), "yesterday"),
    (examples.LEVEL2, ("timestamp",), "1969-12-31T23:59:59Z"),
    (examples.LEVEL2, ("events",), {}),
    (examples.LEVEL2, ("events", 0), "snapshot"),
    (examples.LEVEL2, ("events", 0, "product_id"), 7),
    (examples.LEVEL2, ("events", 0, "product_id"), "btc usd"),
    (examples.LEVEL2, ("events", 0, "updates"), _DELETE),
    (examples.LEVEL2, ("events", 0, "updates"), "none"),
    (examples.LEVEL2, ("events", 0, "updates", 0), ["bid", "1", "1"]),
    (examples.LEVEL2, (*_L2_ENTRY, "side"), "buy"),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), 21921.73),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), "NaN"),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), "Infinity"),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), "0"),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), "9" * 30),
    (examples.LEVEL2, (*_L2_ENTRY, "price_level"), "1e999999"),
    (examples.LEVEL2, (*_L2_ENTRY, "new_quantity"), "-1"),
    (examples.LEVEL2, (*_L2_ENTRY, "new_quantity"), "nan"),
    (examples.LEVEL2, (*_L2_ENTRY, "new_quantity"), None),
    (examples.LEVEL2, (*_L2_ENTRY, "event_time"), 0),
    (examples.LEVEL2, (*_L2_ENTRY, "event_time"), "2023-02-32T00:00:00Z"),
    (examples.MARKET_TRADES, (*_TRADE, "side"), "buy"),
    (examples.MARKET_TRADES, (*_TRADE, "size"), "-0.3"),
    (examples.MARKET_TRADES, (*_TRADE, "size"), "0"),
    (examples.MARKET_TRADES, (*_TRADE, "price"), "NaN"),
    (examples.MARKET_TRADES, (*_TRADE, "trade_id"), ""),
    (examples.MARKET_TRADES, (*_TRADE, "trade_id"), None),
    (examples.MARKET_TRADES, (*_TRADE, "time"), "2019-08-14"),
    (examples.MARKET_TRADES, (*_TRADE, "product_id"), _DELETE),
    (examples.MARKET_TRADES, ("events", 0, "trades"), None),
    (examples.MARKET_TRADES, _TRADE, "trade"),
    (examples.TICKER, (*_TICKER, "best_bid"), "NaN"),
    (examples.TICKER, (*_TICKER, "best_bid"), 21931.98),
    (examples.TICKER, (*_TICKER, "best_ask_quantity"), "-5"),
    (examples.TICKER, (*_TICKER, "product_id"), None),
    (examples.HEARTBEATS, ("events", 0, "heartbeat_counter"), "-3"),
    (examples.HEARTBEATS, ("events", 0, "heartbeat_counter"), 1.5),
    (examples.HEARTBEATS, ("events", 0, "heartbeat_counter"), "9" * 40),
    (examples.SUBSCRIPTIONS, ("events", 0, "subscriptions"), ["level2"]),
    (examples.SUBSCRIPTIONS, ("events", 0, "subscriptions", "level2"), "BTC-USD"),
]


@pytest.mark.parametrize(("example", "path", "value"), HOSTILE)
def test_hostile_fields_raise_malformed_frame(example: bytes, path: tuple[Any, ...], value: Any) -> None:
    with pytest.raises(MalformedFrame) as raised:
        parse_frame(_mutated(example, path, value), TS_INIT)
    assert raised.value.reason
    assert len(str(raised.value)) < 400


def test_a_malformed_event_reports_its_channel_and_sequence() -> None:
    frame = _mutated(examples.LEVEL2, (*_L2_ENTRY, "side"), "middle")
    with pytest.raises(MalformedFrame) as raised:
        parse_frame(frame, TS_INIT)
    assert raised.value.channel == "l2_data"
    assert raised.value.sequence == 0


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"null", b"42", b'"text"', b"{", b"\xff\xfe"])
def test_frames_that_are_not_json_objects(raw: bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(raw, TS_INIT)


_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
json_values = st.recursive(
    _scalars | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    channel=st.sampled_from(["l2_data", "market_trades", "ticker", "heartbeats", "subscriptions", "x"]),
    events=st.lists(json_values, max_size=3),
    sequence=json_values,
)
def test_any_json_either_parses_or_raises_malformed_frame(channel: str, events: Any, sequence: Any) -> None:
    frame = orjson.dumps(
        {"channel": channel, "timestamp": "2023-02-09T20:32:50Z", "sequence_num": sequence, "events": events}
    )
    with contextlib.suppress(MalformedFrame):
        parse_frame(frame, TS_INIT)


@given(
    entry=st.fixed_dictionaries(
        {
            "side": st.sampled_from(["bid", "offer", "ask"]) | json_values,
            "event_time": st.sampled_from(["1970-01-01T00:00:00Z", "2023-02-09T20:32:50.1Z"]) | json_values,
            "price_level": st.decimals(allow_nan=True, allow_infinity=True).map(str) | json_values,
            "new_quantity": st.decimals(allow_nan=True, allow_infinity=True).map(str) | json_values,
        }
    )
)
def test_any_level2_entry_either_parses_or_raises_malformed_frame(entry: dict[str, Any]) -> None:
    frame = _frame("l2_data", [{"type": "update", "product_id": "BTC-USD", "updates": [entry]}])
    try:
        (book,) = parse_frame(frame, TS_INIT).events
    except MalformedFrame:
        return
    assert isinstance(book, BookMessage)
    for price, size in book.bids + book.asks:
        assert price.is_finite()
        assert price > 0
        assert size.is_finite()
        assert size >= 0
