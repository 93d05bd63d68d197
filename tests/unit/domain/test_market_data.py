"""domain.market_data: validated construction of trades, quotes, book snapshots/deltas and bars."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.market_data import Bar, BookDelta, BookSnapshot, QuoteTick, TradeTick
from domain.values import AggressorSide
from tests.builders import BTCUSDT, TS

NOT_POSITIVE = ["0", "-1", "-0.01", 0]
NOT_A_DECIMAL = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999999", "", "abc", 1.5, True, None]
BAD_TIMESTAMPS = [-1, True, False, 1.5, "1700000000000000000", None, Decimal(1)]
MINUTE_NS = 60_000_000_000


def trade(**overrides: object) -> TradeTick:
    fields: dict[str, object] = {
        "instrument_id": BTCUSDT,
        "price": "43000.10",
        "size": "0.015",
        "aggressor": AggressorSide.BUYER,
        "trade_id": "12345",
        "ts_event": TS,
        "ts_init": TS + 1_000,
    }
    return TradeTick.create(**{**fields, **overrides})  # type: ignore[arg-type]


def quote(**overrides: object) -> QuoteTick:
    fields: dict[str, object] = {
        "instrument_id": BTCUSDT,
        "bid_price": "43000.00",
        "bid_size": "1.5",
        "ask_price": "43000.10",
        "ask_size": "0.25",
        "ts_event": TS,
        "ts_init": TS,
    }
    return QuoteTick.create(**{**fields, **overrides})  # type: ignore[arg-type]


def snapshot(**overrides: object) -> BookSnapshot:
    fields: dict[str, object] = {
        "instrument_id": BTCUSDT,
        "bids": [("99.5", "2"), ("100", "1")],
        "asks": [("101", "3"), ("100.5", "1")],
        "sequence": 10,
        "ts_event": TS,
        "ts_init": TS,
    }
    return BookSnapshot.create(**{**fields, **overrides})  # type: ignore[arg-type]


def delta(**overrides: object) -> BookDelta:
    fields: dict[str, object] = {
        "instrument_id": BTCUSDT,
        "bids": [("100", "0"), ("99", "4")],
        "asks": [("101", "2.5")],
        "first_sequence": 11,
        "last_sequence": 13,
        "ts_event": TS,
        "ts_init": TS,
    }
    return BookDelta.create(**{**fields, **overrides})  # type: ignore[arg-type]


def bar(**overrides: object) -> Bar:
    fields: dict[str, object] = {
        "instrument_id": BTCUSDT,
        "open": "100",
        "high": "110",
        "low": "95",
        "close": "105",
        "volume": "12.5",
        "interval_ns": MINUTE_NS,
        "ts_event": TS,
        "ts_init": TS,
    }
    return Bar.create(**{**fields, **overrides})  # type: ignore[arg-type]


# -- TradeTick -----------------------------------------------------------------------------


def test_trade_tick_parses_venue_strings() -> None:
    tick = trade()
    assert tick == TradeTick(
        BTCUSDT, Decimal("43000.10"), Decimal("0.015"), AggressorSide.BUYER, "12345", TS, TS + 1_000
    )


def test_trade_tick_takes_a_numeric_trade_id_and_an_int_aggressor() -> None:
    tick = trade(trade_id=987654321, aggressor=-1)
    assert tick.trade_id == "987654321"
    assert tick.aggressor is AggressorSide.SELLER


def test_trade_tick_aggressor_defaults_to_none() -> None:
    tick = TradeTick.create(instrument_id=BTCUSDT, price="1", size="1", trade_id="t", ts_event=TS, ts_init=TS)
    assert tick.aggressor is AggressorSide.NONE


@pytest.mark.parametrize("field", ["price", "size"])
@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_trade_tick_refuses_a_price_or_size_that_is_not_a_positive_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        trade(**{field: raw})


@pytest.mark.parametrize("raw", ["BUYER", "BUY", 2, None, 0.0])
def test_trade_tick_refuses_an_unknown_aggressor(raw: object) -> None:
    with pytest.raises(InvalidValue, match="aggressor"):
        trade(aggressor=raw)


@pytest.mark.parametrize("raw", ["", None, True, 1.5])
def test_trade_tick_refuses_an_empty_or_absent_trade_id(raw: object) -> None:
    with pytest.raises(InvalidValue, match="trade_id"):
        trade(trade_id=raw)


@pytest.mark.parametrize("field", ["ts_event", "ts_init"])
@pytest.mark.parametrize("raw", BAD_TIMESTAMPS)
def test_trade_tick_refuses_a_timestamp_that_is_not_non_negative_integer_nanoseconds(
    field: str, raw: object
) -> None:
    with pytest.raises(InvalidValue, match=f"{field} must be a non-negative integer of nanoseconds"):
        trade(**{field: raw})


def test_trade_tick_is_immutable() -> None:
    with pytest.raises(AttributeError):
        trade().price = Decimal(1)  # type: ignore[misc]


# -- QuoteTick -----------------------------------------------------------------------------


def test_quote_tick_parses_and_gives_the_mid() -> None:
    tick = quote()
    assert (tick.bid_price, tick.bid_size) == (Decimal("43000.00"), Decimal("1.5"))
    assert (tick.ask_price, tick.ask_size) == (Decimal("43000.10"), Decimal("0.25"))
    assert tick.mid == Decimal("43000.05")


def test_quote_tick_accepts_a_locked_quote_and_empty_sizes() -> None:
    tick = quote(bid_price="100", ask_price="100", bid_size="0", ask_size="0")
    assert tick.mid == 100


def test_quote_tick_refuses_a_bid_above_the_ask() -> None:
    with pytest.raises(InvalidValue, match=re.escape("bid_price must not be above ask_price 100.00")):
        quote(bid_price="100.01", ask_price="100.00")


@pytest.mark.parametrize("field", ["bid_price", "ask_price"])
@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_quote_tick_refuses_a_price_that_is_not_a_positive_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        quote(**{field: raw})


@pytest.mark.parametrize("field", ["bid_size", "ask_size"])
@pytest.mark.parametrize("raw", ["-1", "-0.001", *NOT_A_DECIMAL])
def test_quote_tick_refuses_a_size_that_is_not_a_non_negative_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        quote(**{field: raw})


@pytest.mark.parametrize("field", ["ts_event", "ts_init"])
@pytest.mark.parametrize("raw", BAD_TIMESTAMPS)
def test_quote_tick_refuses_a_bad_timestamp(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        quote(**{field: raw})


# -- BookSnapshot --------------------------------------------------------------------------


def test_book_snapshot_sorts_bids_down_and_asks_up() -> None:
    book = snapshot()
    assert book.bids == ((Decimal(100), Decimal(1)), (Decimal("99.5"), Decimal(2)))
    assert book.asks == ((Decimal("100.5"), Decimal(1)), (Decimal(101), Decimal(3)))
    assert book.sequence == 10


def test_book_snapshot_may_have_an_empty_side() -> None:
    book = snapshot(bids=[], asks=[["101", "1"]])
    assert book.bids == ()


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_book_snapshot_refuses_a_repeated_price_level(side: str) -> None:
    levels = {"bids": [("100", "1"), ("100.00", "2")], "asks": [("101", "1"), ("101", "2")]}[side]
    with pytest.raises(InvalidValue, match=f"{side} must not repeat a price level"):
        snapshot(**{side: levels})


@pytest.mark.parametrize("best_bid", ["100.5", "101"])
def test_book_snapshot_refuses_a_crossed_or_locked_book(best_bid: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape("bids best bid must be below best ask 100.5")):
        snapshot(bids=[(best_bid, "1")])


@pytest.mark.parametrize("raw", [["100"], ("100", "1", "2"), "1", 5, None])
def test_book_snapshot_refuses_a_level_that_is_not_a_pair(raw: object) -> None:
    with pytest.raises(InvalidValue, match=r"bids\[0\] must be a \[price, size\] pair"):
        snapshot(bids=[raw])


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_book_snapshot_refuses_a_level_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match=r"asks\[1\]\.price"):
        snapshot(asks=[("101", "1"), (raw, "1")])


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_book_snapshot_refuses_a_level_size_that_is_not_positive(raw: object) -> None:
    with pytest.raises(InvalidValue, match=r"bids\[0\]\.size"):
        snapshot(bids=[("100", raw)])


@pytest.mark.parametrize("field", ["sequence", "ts_event", "ts_init"])
@pytest.mark.parametrize("raw", BAD_TIMESTAMPS)
def test_book_snapshot_refuses_a_bad_sequence_or_timestamp(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        snapshot(**{field: raw})


# -- BookDelta -----------------------------------------------------------------------------


def test_book_delta_keeps_order_and_zero_sizes_that_remove_levels() -> None:
    change = delta()
    assert change.bids == ((Decimal(100), Decimal(0)), (Decimal(99), Decimal(4)))
    assert change.asks == ((Decimal(101), Decimal("2.5")),)
    assert (change.first_sequence, change.last_sequence) == (11, 13)


def test_book_delta_may_cover_a_single_update_id() -> None:
    assert delta(first_sequence=7, last_sequence=7).first_sequence == 7


def test_book_delta_refuses_a_first_sequence_after_the_last() -> None:
    with pytest.raises(InvalidValue, match="first_sequence must not exceed last_sequence 12"):
        delta(first_sequence=13, last_sequence=12)


@pytest.mark.parametrize("raw", ["-1", "-0.5", *NOT_A_DECIMAL])
def test_book_delta_refuses_a_negative_or_bad_size(raw: object) -> None:
    with pytest.raises(InvalidValue, match=r"asks\[0\]\.size"):
        delta(asks=[("101", raw)])


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_book_delta_refuses_a_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match=r"bids\[1\]\.price"):
        delta(bids=[("100", "1"), (raw, "1")])


@pytest.mark.parametrize("field", ["first_sequence", "last_sequence", "ts_event", "ts_init"])
@pytest.mark.parametrize("raw", BAD_TIMESTAMPS)
def test_book_delta_refuses_a_bad_sequence_or_timestamp(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        delta(**{field: raw})


# -- Bar -----------------------------------------------------------------------------------


def test_bar_parses_ohlcv() -> None:
    candle = bar()
    assert (candle.open, candle.high, candle.low, candle.close) == (100, 110, 95, 105)
    assert candle.volume == Decimal("12.5")
    assert candle.interval_ns == MINUTE_NS


def test_bar_accepts_a_flat_bar_with_no_volume() -> None:
    candle = bar(open="100", high="100", low="100", close="100", volume="0")
    assert candle.volume == 0


@pytest.mark.parametrize(
    ("high", "low"),
    [("104", "95"), ("99", "95"), ("110", "101"), ("110", "106"), ("90", "95")],
)
def test_bar_refuses_a_high_or_low_that_does_not_bound_open_and_close(high: str, low: str) -> None:
    with pytest.raises(InvalidValue, match="high/low must bound open 100 and close 105"):
        bar(high=high, low=low)


@pytest.mark.parametrize("field", ["open", "high", "low", "close"])
@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_bar_refuses_a_price_that_is_not_a_positive_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        bar(**{field: raw})


@pytest.mark.parametrize("raw", ["-1", *NOT_A_DECIMAL])
def test_bar_refuses_a_negative_or_bad_volume(raw: object) -> None:
    with pytest.raises(InvalidValue, match="volume"):
        bar(volume=raw)


def test_bar_refuses_a_zero_interval() -> None:
    with pytest.raises(InvalidValue, match="interval_ns must be greater than zero"):
        bar(interval_ns=0)


@pytest.mark.parametrize("field", ["interval_ns", "ts_event", "ts_init"])
@pytest.mark.parametrize("raw", BAD_TIMESTAMPS)
def test_bar_refuses_a_bad_interval_or_timestamp(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        bar(**{field: raw})
