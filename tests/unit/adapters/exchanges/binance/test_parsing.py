"""Binance frame parsing on the documented examples (docs/venues.md, Message formats) and on bad input."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.binance import parsing
from adapters.exchanges.binance.errors import MalformedFrame, UnknownStream
from adapters.exchanges.binance.parsing import (
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_frame,
    parse_trade,
)
from adapters.exchanges.binance.schemas import BookTicker, ControlResponse, ServerShutdown
from adapters.exchanges.streaming.prices import PriceCache
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookSnapshot, TradeTick
from domain.order_book import BookSync, SyncStatus
from domain.values import AggressorSide

TS_INIT = 1_700_000_000_123_456_789
MS = 1_000_000

# The venue's own examples, as published (docs/venues.md, Message formats and Local order book).
TRADE_EXAMPLE: dict[str, Any] = {
    "e": "trade",
    "E": 1672515782136,
    "s": "BNBBTC",
    "t": 12345,
    "p": "0.001",
    "q": "100",
    "T": 1672515782136,
    "m": True,
    "M": True,
}
AGG_TRADE_EXAMPLE: dict[str, Any] = {
    "e": "aggTrade",
    "E": 1672515782136,
    "s": "BNBBTC",
    "a": 12345,
    "p": "0.001",
    "q": "100",
    "f": 100,
    "l": 105,
    "T": 1672515782136,
    "m": True,
    "M": True,
}
BOOK_TICKER_EXAMPLE: dict[str, Any] = {
    "u": 400900217,
    "s": "BNBUSDT",
    "b": "25.35190000",
    "B": "31.21000000",
    "a": "25.36520000",
    "A": "40.66000000",
}
DEPTH_EXAMPLE: dict[str, Any] = {
    "e": "depthUpdate",
    "E": 1672515782136,
    "s": "BNBBTC",
    "U": 157,
    "u": 160,
    "b": [["0.0024", "10"]],
    "a": [["0.0026", "100"]],
}
PARTIAL_BOOK_EXAMPLE: dict[str, Any] = {
    "lastUpdateId": 160,
    "bids": [["0.0024", "10"]],
    "asks": [["0.0026", "100"]],
}
REST_DEPTH_EXAMPLE = (
    b'{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], '
    b'"asks": [["4.00000200", "12.00000000"]]}'
)
SHUTDOWN_RAW = b'{"e":"serverShutdown","E":1770123456789}'
SHUTDOWN_COMBINED = b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}'

BNBBTC = InstrumentId("BNBBTC.BINANCE")
BNBUSDT = InstrumentId("BNBUSDT.BINANCE")


def combined(stream: str, data: object) -> bytes:
    return orjson.dumps({"stream": stream, "data": data})


def with_field(payload: dict[str, Any], field: str, value: object) -> dict[str, Any]:
    return {**payload, field: value}


def without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != field}


# -- documented examples ---------------------------------------------------------------------


def test_trade_example_becomes_a_trade_tick_with_the_seller_as_aggressor() -> None:
    tick = parse_frame(combined("bnbbtc@trade", TRADE_EXAMPLE), TS_INIT)

    assert tick == TradeTick(
        instrument_id=BNBBTC,
        price=Decimal("0.001"),
        size=Decimal("100"),
        aggressor=AggressorSide.SELLER,  # m=true: the buyer was the maker, so the seller took
        trade_id="12345",
        ts_event=1672515782136 * MS,  # trade time T
        ts_init=TS_INIT,
    )


def test_trade_with_buyer_not_maker_has_the_buyer_as_aggressor() -> None:
    tick = parse_trade(with_field(TRADE_EXAMPLE, "m", False), TS_INIT)

    assert tick.aggressor is AggressorSide.BUYER


def test_raw_stream_trade_is_recognised_by_its_event_type() -> None:
    assert parse_frame(orjson.dumps(TRADE_EXAMPLE), TS_INIT) == parse_trade(TRADE_EXAMPLE, TS_INIT)


def test_frame_as_str_parses_like_bytes() -> None:
    raw = combined("bnbbtc@trade", TRADE_EXAMPLE)

    assert parse_frame(raw.decode(), TS_INIT) == parse_frame(raw, TS_INIT)


def test_book_ticker_example_becomes_a_quote_stamped_with_ts_init() -> None:
    parsed = parse_frame(combined("bnbusdt@bookTicker", BOOK_TICKER_EXAMPLE), TS_INIT)

    assert isinstance(parsed, BookTicker)
    assert parsed.update_id == 400900217
    quote = parsed.quote
    assert quote.instrument_id == BNBUSDT
    assert (quote.bid_price, quote.bid_size) == (Decimal("25.35190000"), Decimal("31.21000000"))
    assert (quote.ask_price, quote.ask_size) == (Decimal("25.36520000"), Decimal("40.66000000"))
    assert quote.ts_event == quote.ts_init == TS_INIT  # bookTicker has no event time


def test_raw_stream_book_ticker_is_recognised_by_its_shape() -> None:
    assert parse_frame(orjson.dumps(BOOK_TICKER_EXAMPLE), TS_INIT) == parse_book_ticker(
        BOOK_TICKER_EXAMPLE, TS_INIT
    )


@pytest.mark.parametrize("stream", ["bnbbtc@depth", "bnbbtc@depth@100ms"])
def test_depth_example_becomes_a_book_delta_over_u_range(stream: str) -> None:
    delta = parse_frame(combined(stream, DEPTH_EXAMPLE), TS_INIT)

    assert delta == BookDelta(
        instrument_id=BNBBTC,
        bids=((Decimal("0.0024"), Decimal("10")),),
        asks=((Decimal("0.0026"), Decimal("100")),),
        first_sequence=157,
        last_sequence=160,
        ts_event=1672515782136 * MS,
        ts_init=TS_INIT,
    )


def test_depth_update_keeps_zero_quantities_as_level_removals() -> None:
    payload = with_field(DEPTH_EXAMPLE, "b", [["0.0024", "0.00000000"], ["0.0023", "5"]])

    delta = parse_depth_update(payload, TS_INIT)

    assert delta.bids == ((Decimal("0.0024"), Decimal("0")), (Decimal("0.0023"), Decimal("5")))


def test_depth_update_with_no_changes_on_a_side_is_valid() -> None:
    delta = parse_depth_update(with_field(DEPTH_EXAMPLE, "a", []), TS_INIT)

    assert delta.asks == ()


def test_rest_depth_example_becomes_a_snapshot_at_last_update_id() -> None:
    snapshot = parse_depth_snapshot(REST_DEPTH_EXAMPLE, BNBBTC, TS_INIT)

    assert snapshot == BookSnapshot(
        instrument_id=BNBBTC,
        bids=((Decimal("4.00000000"), Decimal("431.00000000")),),
        asks=((Decimal("4.00000200"), Decimal("12.00000000")),),
        sequence=1027024,
        ts_event=TS_INIT,  # the REST body has no timestamp
        ts_init=TS_INIT,
    )


def test_depth_snapshot_accepts_an_already_decoded_body_and_a_str() -> None:
    from_bytes = parse_depth_snapshot(REST_DEPTH_EXAMPLE, BNBBTC, TS_INIT)

    assert parse_depth_snapshot(orjson.loads(REST_DEPTH_EXAMPLE), BNBBTC, TS_INIT) == from_bytes
    assert parse_depth_snapshot(REST_DEPTH_EXAMPLE.decode(), BNBBTC, TS_INIT) == from_bytes


def test_partial_book_body_parses_as_a_snapshot() -> None:
    snapshot = parse_depth_snapshot(PARTIAL_BOOK_EXAMPLE, BNBBTC, TS_INIT)

    assert snapshot.sequence == 160
    assert snapshot.bids == ((Decimal("0.0024"), Decimal("10")),)


@pytest.mark.parametrize("raw", [SHUTDOWN_RAW, SHUTDOWN_COMBINED])
def test_server_shutdown_event_in_raw_and_combined_form(raw: bytes) -> None:
    assert parse_frame(raw, TS_INIT) == ServerShutdown(1770123456789 * MS, TS_INIT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"result": null, "id": 1}', ControlResponse(1, None)),
        (b'{"result": ["btcusdt@aggTrade"], "id": 3}', ControlResponse(3, ["btcusdt@aggTrade"])),
        (b'{"result": true, "id": "abc"}', ControlResponse("abc", True)),
        (
            b'{"code": 2, "msg": "Invalid request: unknown stream", "id": 312}',
            ControlResponse(312, None, 2, "Invalid request: unknown stream"),
        ),
        (
            b'{"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}',
            ControlResponse(None, None, 3, "Invalid JSON: expected value at line 1 column 1"),
        ),
        (
            b'{"error": {"code": 0, "msg": "Unknown property"}, "id": 5}',
            ControlResponse(5, None, 0, "Unknown property"),
        ),
    ],
)
def test_subscribe_acknowledgements_and_errors(raw: bytes, expected: ControlResponse) -> None:
    assert parse_frame(raw, TS_INIT) == expected


def test_documented_book_procedure_scenario_drops_old_applies_next_and_detects_the_gap() -> None:
    # docs/venues.md, Local order book, worked example: snapshot 160; [150,155] and [157,160]
    # dropped, [161,165] and [166,170] applied, [172,175] is a gap (172 > 170 + 1) -> resync.
    def depth(first: int, last: int) -> BookDelta:
        payload = {**DEPTH_EXAMPLE, "U": first, "u": last, "b": [["0.0024", str(last)]], "a": []}
        parsed = parse_frame(combined("bnbbtc@depth@100ms", payload), TS_INIT)
        assert isinstance(parsed, BookDelta)
        return parsed

    sync = BookSync(BNBBTC)
    assert sync.on_delta(depth(150, 155)) is SyncStatus.NEEDS_SNAPSHOT
    for first, last in ((157, 160), (161, 165), (166, 170)):
        assert sync.on_delta(depth(first, last)) is SyncStatus.BUFFERED
    snapshot = parse_depth_snapshot(PARTIAL_BOOK_EXAMPLE, BNBBTC, TS_INIT)

    assert sync.on_snapshot(snapshot) is SyncStatus.SYNCED
    assert sync.book.sequence == 170
    assert sync.book.bid_size_at(Decimal("0.0024")) == Decimal(170)
    assert sync.on_delta(depth(172, 175)) is SyncStatus.RESYNC
    assert sync.gaps_detected == 1


# -- streams this adapter does not parse -------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        combined("bnbbtc@aggTrade", AGG_TRADE_EXAMPLE),
        orjson.dumps(AGG_TRADE_EXAMPLE),
        combined("bnbbtc@depth5", PARTIAL_BOOK_EXAMPLE),
        combined("bnbbtc@kline_1m", {"e": "kline"}),
        combined("!miniTicker@arr", []),
        combined("@trade", TRADE_EXAMPLE),
        combined("bnbbtc", TRADE_EXAMPLE),
        combined("bnbbtc@", TRADE_EXAMPLE),
        b'{"e": "somethingNew", "E": 1}',
        b"{}",
    ],
)
def test_unsupported_streams_raise_unknown_stream(raw: bytes) -> None:
    with pytest.raises(UnknownStream):
        parse_frame(raw, TS_INIT)


def test_unknown_stream_is_a_malformed_frame_for_the_feed_to_count() -> None:
    assert issubclass(UnknownStream, MalformedFrame)


# -- malformed frames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"\xff\xfe\x00", b'{"stream": "bnbbtc@trade", "data": {', b"{'single': 'quotes'}"],
)
def test_frame_that_is_not_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedFrame, match="not JSON"):
        parse_frame(raw, TS_INIT)


@pytest.mark.parametrize("raw", [b"[1, 2, 3]", b'"text"', b"5", b"null", b"true"])
def test_frame_that_is_not_an_object_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedFrame, match="not a JSON object"):
        parse_frame(raw, TS_INIT)


@pytest.mark.parametrize("data", ["garbage", [1, 2], None, 5])
def test_combined_frame_whose_data_is_not_an_object_is_malformed(data: object) -> None:
    with pytest.raises(MalformedFrame, match="data"):
        parse_frame(combined("bnbbtc@trade", data), TS_INIT)


@pytest.mark.parametrize("stream", [5, ["bnbbtc@trade"], {"a": 1}, True])
def test_stream_name_that_is_not_a_string_is_malformed(stream: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(orjson.dumps({"stream": stream, "data": TRADE_EXAMPLE}), TS_INIT)


@pytest.mark.parametrize("field", ["e", "s", "t", "p", "q", "T", "m"])
def test_trade_missing_a_field_is_malformed_naming_it(field: str) -> None:
    with pytest.raises(MalformedFrame, match=f"missing field '{field}'"):
        parse_frame(combined("bnbbtc@trade", without(TRADE_EXAMPLE, field)), TS_INIT)


@pytest.mark.parametrize("field", ["u", "s", "b", "B", "a", "A"])
def test_book_ticker_missing_a_field_is_malformed_naming_it(field: str) -> None:
    with pytest.raises(MalformedFrame, match=f"missing field '{field}'"):
        parse_frame(combined("bnbusdt@bookTicker", without(BOOK_TICKER_EXAMPLE, field)), TS_INIT)


@pytest.mark.parametrize("field", ["e", "E", "s", "U", "u", "b", "a"])
def test_depth_update_missing_a_field_is_malformed_naming_it(field: str) -> None:
    with pytest.raises(MalformedFrame, match=f"missing field '{field}'"):
        parse_frame(combined("bnbbtc@depth", without(DEPTH_EXAMPLE, field)), TS_INIT)


BAD_NUMBERS: list[object] = [
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "sNaN",
    "-0.001",
    "0",
    "0.0",
    "abc",
    "",
    " ",
    "1e30",
    "1" * 70,
    None,
    0.001,
    True,
    [],
    {},
]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("field", ["p", "q"])
def test_trade_with_a_bad_price_or_quantity_is_malformed(field: str, value: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, field, value)), TS_INIT)


@pytest.mark.parametrize("value", [v for v in BAD_NUMBERS if v not in ("0", "0.0")])
@pytest.mark.parametrize("field", ["b", "B", "a", "A"])
def test_book_ticker_with_a_bad_number_is_malformed(field: str, value: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbusdt@bookTicker", with_field(BOOK_TICKER_EXAMPLE, field, value)), TS_INIT)


def test_book_ticker_with_bid_above_ask_is_malformed() -> None:
    crossed = {**BOOK_TICKER_EXAMPLE, "b": "25.4", "a": "25.3"}

    with pytest.raises(MalformedFrame, match="bid_price"):
        parse_frame(combined("bnbusdt@bookTicker", crossed), TS_INIT)


@pytest.mark.parametrize(
    "level",
    [
        ["NaN", "1"],
        ["0.0024", "-1"],
        ["-0.0024", "1"],
        ["0", "1"],
        ["x", "1"],
        ["0.0024"],
        "0.0024",
        5,
        None,
        [0.0024, 1],
    ],
)
def test_depth_update_with_a_bad_level_is_malformed(level: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbbtc@depth", with_field(DEPTH_EXAMPLE, "b", [level])), TS_INIT)


@pytest.mark.parametrize("levels", ["0.0024", 5, None, {"0.0024": "1"}])
def test_depth_update_whose_sides_are_not_lists_is_malformed(levels: object) -> None:
    with pytest.raises(MalformedFrame, match="must be a list"):
        parse_frame(combined("bnbbtc@depth", with_field(DEPTH_EXAMPLE, "a", levels)), TS_INIT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("U", 161),
        ("U", -1),
        ("u", "160"),
        ("U", 157.0),
        ("u", True),
        ("E", -5),
        ("E", 1.5),
        ("E", "1672515782136"),
    ],
)
def test_depth_update_with_bad_update_ids_or_time_is_malformed(field: str, value: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbbtc@depth", with_field(DEPTH_EXAMPLE, field, value)), TS_INIT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("t", "12345"),
        ("t", -1),
        ("t", True),
        ("t", 1.0),
        ("T", 1.5),
        ("T", -1),
        ("T", None),
        ("m", "true"),
        ("m", 1),
        ("m", None),
        ("e", "aggTrade"),
        ("s", ""),
        ("s", 5),
        ("s", "BNB BTC"),
        ("s", None),
    ],
)
def test_trade_with_bad_fields_is_malformed(field: str, value: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, field, value)), TS_INIT)


@pytest.mark.parametrize(("field", "value"), [("u", -1), ("u", "400900217"), ("u", None), ("s", 7)])
def test_book_ticker_with_bad_fields_is_malformed(field: str, value: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(combined("bnbusdt@bookTicker", with_field(BOOK_TICKER_EXAMPLE, field, value)), TS_INIT)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"stream":"!serverShutdown","data":{"e":"serverShutdown"}}',
        b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":"soon"}}',
        b'{"stream":"!serverShutdown","data":{"e":"other","E":1}}',
        b'{"result": null, "id": 1.5}',
        b'{"code": "2", "msg": "x", "id": 1}',
    ],
)
def test_bad_shutdown_and_control_frames_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(raw, TS_INIT)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b"[]",
        b'{"bids": [], "asks": []}',
        b'{"lastUpdateId": "1", "bids": [], "asks": []}',
        b'{"lastUpdateId": 1, "bids": "x", "asks": []}',
        b'{"lastUpdateId": 1, "bids": [["4.0", "0"]], "asks": []}',
        b'{"lastUpdateId": 1, "bids": [["4.1", "1"]], "asks": [["4.0", "1"]]}',
        b'{"lastUpdateId": 1, "bids": [["4.0", "1"], ["4.0", "2"]], "asks": []}',
        b'{"lastUpdateId": 1, "bids": [["NaN", "1"]], "asks": []}',
    ],
)
def test_bad_depth_snapshot_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_depth_snapshot(body, BNBBTC, TS_INIT)


def test_malformed_frame_keeps_a_truncated_payload_for_one_line_logs() -> None:
    huge = combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, "p", "x" * 10_000))

    with pytest.raises(MalformedFrame) as caught:
        parse_frame(huge, TS_INIT)

    assert len(caught.value.payload) < 300
    assert "\n" not in str(caught.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("eEstpqTmuUbaBA"), inner, max_size=8)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=200))
def test_any_bytes_either_parse_or_raise_malformed_frame(raw: bytes) -> None:
    with contextlib.suppress(MalformedFrame):
        parse_frame(raw, TS_INIT)


@given(
    st.sampled_from(["bnbbtc@trade", "bnbusdt@bookTicker", "bnbbtc@depth@100ms", "!serverShutdown"]),
    json_values,
)
def test_any_json_payload_on_a_known_stream_parses_or_raises_malformed_frame(
    stream: str, data: object
) -> None:
    try:
        raw = orjson.dumps({"stream": stream, "data": data})
    except orjson.JSONEncodeError:  # e.g. NaN floats or huge ints, which JSON cannot carry anyway
        return
    with contextlib.suppress(MalformedFrame):
        parse_frame(raw, TS_INIT)


def test_repeated_prices_come_from_the_cache_exact_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PriceCache(limit=3)
    monkeypatch.setattr(parsing, "_price", cache.positive)
    first = parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, "p", "0.00100000")), TS_INIT)
    again = parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, "p", "0.00100000")), TS_INIT)
    assert first.price == again.price == Decimal("0.00100000")  # type: ignore[union-attr]
    assert str(again.price) == "0.00100000"  # type: ignore[union-attr]  # the text's own digits
    for price in ("1.1", "1.2", "1.3", "1.4"):
        parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, "p", price)), TS_INIT)
    assert 0 < len(cache) <= 3
    for bad in ("-1", "NaN", "0", [1], None):  # never cached, always refused
        with pytest.raises(MalformedFrame):
            parse_frame(combined("bnbbtc@trade", with_field(TRADE_EXAMPLE, "p", bad)), TS_INIT)
