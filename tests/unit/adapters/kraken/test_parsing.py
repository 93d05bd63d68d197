"""Parsing the venue's published v2 messages, and refusing hostile ones with MalformedMessage only."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.kraken.errors import MalformedMessage, UnknownMessage
from adapters.exchanges.kraken.parsing import (
    HEARTBEAT,
    Ack,
    BookMessage,
    Instruments,
    Pong,
    Status,
    Tickers,
    Trades,
    decode,
    parse_message,
)
from domain.identifiers import InstrumentId
from domain.values import AggressorSide
from tests.unit.adapters.kraken.vectors import (
    BOOK_ACK,
    BOOK_SNAPSHOT,
    BOOK_TS,
    BOOK_UPDATE,
    INSTRUMENT_SNAPSHOT,
    TICKER_SNAPSHOT,
    TRADE_UPDATE,
)

MATIC = InstrumentId("MATIC-USD.KRAKEN")
TS_INIT = 1_800_000_000_000_000_000


def test_numbers_decode_to_decimals_with_their_text() -> None:
    decoded = decode(b'{"a": 0.10000, "b": 45281.0, "c": 40, "d": 1e-5}')
    assert decoded == {"a": Decimal("0.10000"), "b": Decimal("45281.0"), "c": 40, "d": Decimal("1e-5")}
    assert str(decoded["a"]) == "0.10000"


def test_book_snapshot() -> None:
    message = parse_message(BOOK_SNAPSHOT, TS_INIT)
    assert isinstance(message, BookMessage)
    assert (message.pair, message.instrument_id, message.snapshot) == ("MATIC/USD", MATIC, True)
    assert message.bids[0] == (Decimal("0.5666"), Decimal("4831.75496356"))
    assert message.bids[6] == (Decimal("0.566"), Decimal("18097.1547"))
    assert message.asks[-1] == (Decimal("0.5677"), Decimal("36304.0847022"))
    assert len(message.bids) == len(message.asks) == 10
    assert message.checksum == 2439117997
    assert (message.ts_event, message.ts_init) == (BOOK_TS, TS_INIT)


def test_book_update() -> None:
    message = parse_message(BOOK_UPDATE, TS_INIT)
    assert isinstance(message, BookMessage)
    assert not message.snapshot
    assert message.bids == ((Decimal("0.5657"), Decimal("1098.3947558")),)
    assert message.asks == ()
    assert message.checksum == 2114181697


def test_an_update_may_delete_with_qty_zero_but_a_snapshot_may_not_hold_one() -> None:
    update = parse_message(BOOK_UPDATE.replace(b"1098.3947558", b"0"), TS_INIT)
    assert isinstance(update, BookMessage)
    assert update.bids == ((Decimal("0.5657"), Decimal(0)),)
    with pytest.raises(MalformedMessage, match="greater than zero"):
        parse_message(BOOK_SNAPSHOT.replace(b"4831.75496356", b"0.0"), TS_INIT)


def test_trade_side_is_the_taker_so_the_aggressor() -> None:
    message = parse_message(TRADE_UPDATE, TS_INIT)
    assert isinstance(message, Trades)
    (trade,) = message.trades
    assert trade.instrument_id == MATIC
    assert (trade.price, trade.size) == (Decimal("0.5117"), Decimal("40.0"))
    assert trade.aggressor is AggressorSide.SELLER
    assert trade.trade_id == "4665906"
    assert trade.ts_event == 1695628177708706000
    buy = parse_message(TRADE_UPDATE.replace(b'"sell"', b'"buy"'), TS_INIT)
    assert isinstance(buy, Trades)
    assert buy.trades[0].aggressor is AggressorSide.BUYER


def test_ticker_is_a_quote() -> None:
    message = parse_message(TICKER_SNAPSHOT, TS_INIT)
    assert isinstance(message, Tickers)
    (quote,) = message.quotes
    assert quote.instrument_id == InstrumentId("ALGO-USD.KRAKEN")
    assert (quote.bid_price, quote.bid_size) == (Decimal("0.10025"), Decimal("740.0"))
    assert (quote.ask_price, quote.ask_size) == (Decimal("0.10036"), Decimal("1361.44813783"))
    assert quote.ts_event == 1695632671742648000


def test_acks_heartbeat_status_pong() -> None:
    ack = parse_message(BOOK_ACK, TS_INIT)
    assert ack == Ack("subscribe", True, "book", "ALGO/USD", "", None)
    refused = parse_message(
        b'{"error":"Currency pair not supported","method":"subscribe","success":false,"symbol":"BTC/XYZ",'
        b'"req_id":7,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"}',
        TS_INIT,
    )
    assert refused == Ack("subscribe", False, "", "BTC/XYZ", "Currency pair not supported", 7)
    assert parse_message(b'{"channel":"heartbeat"}', TS_INIT) is HEARTBEAT
    assert parse_message(
        b'{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}',
        TS_INIT,
    ) == Pong(101)
    status = parse_message(
        b'{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":12393906104898154338,'
        b'"system":"online","version":"2.0.0"}]}',
        TS_INIT,
    )
    assert status == Status("online", "v2", "12393906104898154338")
    assert parse_message(b'{"channel":"status","type":"update","data":"odd"}', TS_INIT) == Status("", "", "")


def test_instrument_pairs() -> None:
    message = parse_message(INSTRUMENT_SNAPSHOT, TS_INIT)
    assert isinstance(message, Instruments)
    (pair,) = message.pairs
    assert (pair.symbol, pair.base, pair.quote, pair.status) == ("BTC/USD", "BTC", "USD", "online")
    assert (pair.price_precision, pair.qty_precision) == (1, 8)
    assert pair.price_increment == Decimal("0.1")
    assert pair.qty_increment == Decimal("0.00000001")
    assert (pair.qty_min, pair.cost_min) == (Decimal("0.0001"), Decimal("0.5"))


def _book(**changes: object) -> bytes:
    message = json.loads(BOOK_UPDATE)
    message["data"][0].update(changes)
    return json.dumps(message).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000, "not JSON"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not JSON"),
        (b'{"channel":"book","type":"update","data":[]}', "non-empty list"),
        (b'{"channel":"book","type":"partial","data":[{}]}', "snapshot or update"),
        (_book(symbol="MATICUSD"), "BASE/QUOTE"),
        (_book(symbol=None), "BASE/QUOTE"),
        (_book(checksum=-1), "unsigned 32-bit"),
        (_book(checksum=2**32), "unsigned 32-bit"),
        (_book(checksum="12"), "unsigned 32-bit"),
        (_book(bids={"price": 1}), "list of price levels"),
        (_book(bids=[[1, 2]]), "object with price and qty"),
        (_book(bids=[{"price": 1}]), "missing 'qty'"),
        (_book(bids=[{"price": "1", "qty": 1}]), "JSON number"),
        (_book(bids=[{"price": True, "qty": 1}]), "JSON number"),
        (_book(bids=[{"price": -1, "qty": 1}]), "greater than zero"),
        (_book(bids=[{"price": 1, "qty": -1}]), "zero or more"),
        (_book(timestamp="yesterday"), "RFC 3339"),
        (_book(timestamp=12), "RFC 3339"),
        (BOOK_UPDATE.replace(b"0.5657", b"1e999999"), "out of range"),
        (BOOK_UPDATE.replace(b"0.5657", b"1e-999999"), "decimal places"),
        (BOOK_UPDATE.replace(b"0.5657", b"NaN"), "JSON number"),
        (BOOK_UPDATE.replace(b"0.5657", b"Infinity"), "JSON number"),
        (TRADE_UPDATE.replace(b'"sell"', b'"short"'), "buy or sell"),
        (TRADE_UPDATE.replace(b"4665906", b'"4665906"'), "trade_id"),
        (TRADE_UPDATE.replace(b"0.5117", b"0"), "greater than zero"),
        (TICKER_SNAPSHOT.replace(b"0.10036", b"0.1"), "bid is above its ask"),
        (TICKER_SNAPSHOT.replace(b'"bid": 0.10025', b'"bid": null'), "JSON number"),
        (INSTRUMENT_SNAPSHOT.replace(b'"price_precision":1', b'"price_precision":1.5'), "price_precision"),
        (INSTRUMENT_SNAPSHOT.replace(b'"qty_precision":8', b'"qty_precision":99'), "qty_precision"),
        (b'{"channel":"instrument","type":"snapshot","data":[]}', "must be an object"),
        (b'{"method":"subscribe","success":"yes"}', "true or false"),
        (b'{"method":"subscribe","success":true,"req_id":"1"}', "req_id"),
        (b'{"method":7,"success":true}', "method must be a string"),
    ],
)
def test_malformed_messages_raise_malformed_message_naming_the_problem(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_message(raw, TS_INIT)


@pytest.mark.parametrize(
    "raw", [b'{"channel":"ohlc","type":"update","data":[]}', b'{"channel":"executions"}', b"{}"]
)
def test_unknown_channels_are_told_apart(raw: bytes) -> None:
    with pytest.raises(UnknownMessage):
        parse_message(raw, TS_INIT)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["book", "trade", "ticker"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    channel=st.sampled_from(["book", "trade", "ticker", "instrument", "status", "heartbeat", None]),
    kind=st.sampled_from(["snapshot", "update", None, 3]),
    data=_JSON,
)
def test_any_shape_is_parsed_or_refused_with_malformed_message(
    channel: object, kind: object, data: object
) -> None:
    raw = json.dumps({"channel": channel, "type": kind, "data": data}).encode()
    with contextlib.suppress(MalformedMessage):
        parse_message(raw, TS_INIT)


@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_else(raw: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        parse_message(raw, TS_INIT)
