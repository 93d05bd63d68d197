"""The consolidated quote: best bid and ask of one pair across venues, stale venues listed apart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.consolidated_quote import NO_QUOTE_YET, consolidate, pairs
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick
from tests.builders import TS, make_instrument

BINANCE = make_instrument()  # BTC/USDT
COINBASE = make_instrument(instrument_id="BTC-USDT.COINBASE")
KRAKEN_USD = make_instrument(instrument_id="BTC-USD.KRAKEN", quote="USD")
KRAKEN = make_instrument(instrument_id="BTC-USDT.KRAKEN")
ETH = make_instrument(base="ETH")
ALL = (BINANCE, COINBASE, KRAKEN_USD, KRAKEN, ETH)


def _quote(iid: InstrumentId, bid: str, ask: str, bid_size: str = "1", ask_size: str = "1") -> QuoteTick:
    return QuoteTick.create(
        instrument_id=iid,
        bid_price=bid,
        bid_size=bid_size,
        ask_price=ask,
        ask_size=ask_size,
        ts_event=TS,
        ts_init=TS,
    )


def _quotes(*ticks: QuoteTick) -> dict[InstrumentId, QuoteTick]:
    return {tick.instrument_id: tick for tick in ticks}


def test_the_best_bid_and_ask_may_come_from_different_venues() -> None:
    quotes = _quotes(
        _quote(BINANCE.id, "100.00", "100.20"),
        _quote(COINBASE.id, "100.05", "100.30"),
        _quote(KRAKEN.id, "99.90", "100.10"),
    )
    view = consolidate("BTC", "USDT", ALL, quotes, {})
    assert view.best_bid is not None
    assert view.best_ask is not None
    assert (view.best_bid.price, view.best_bid.venue) == (Decimal("100.05"), "COINBASE")
    assert (view.best_ask.price, view.best_ask.venue) == (Decimal("100.10"), "KRAKEN")
    assert not view.crossed
    assert [line.instrument_id for line in view.lines] == [COINBASE.id, KRAKEN.id, BINANCE.id]


def test_only_the_exact_pair_counts_usdt_is_not_usd() -> None:
    quotes = _quotes(_quote(BINANCE.id, "100.00", "100.20"), _quote(KRAKEN_USD.id, "150.00", "150.10"))
    view = consolidate("BTC", "USDT", ALL, quotes, {})
    assert KRAKEN_USD.id not in [line.instrument_id for line in view.lines]
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == BINANCE.id
    usd = consolidate("BTC", "USD", ALL, quotes, {})
    assert [line.instrument_id for line in usd.lines] == [KRAKEN_USD.id]


def test_a_crossed_book_across_venues_is_reported() -> None:
    quotes = _quotes(_quote(BINANCE.id, "100.00", "100.20"), _quote(COINBASE.id, "100.50", "100.60"))
    view = consolidate("BTC", "USDT", ALL, quotes, {})
    assert view.crossed
    assert view.best_bid is not None
    assert view.best_bid.venue == "COINBASE"
    assert view.best_ask is not None
    assert view.best_ask.venue == "BINANCE"


def test_a_locked_book_counts_as_crossed() -> None:
    quotes = _quotes(_quote(BINANCE.id, "100.00", "100.20"), _quote(COINBASE.id, "100.20", "100.40"))
    assert consolidate("BTC", "USDT", ALL, quotes, {}).crossed


def test_an_unusable_venue_is_listed_with_why_but_never_the_best() -> None:
    quotes = _quotes(_quote(BINANCE.id, "100.00", "100.20"), _quote(COINBASE.id, "100.50", "100.60"))
    view = consolidate("BTC", "USDT", ALL, quotes, {COINBASE.id: "feed down"})
    line = next(line for line in view.lines if line.instrument_id == COINBASE.id)
    assert not line.usable
    assert line.problem == "feed down"
    assert line.quote == quotes[COINBASE.id]
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == BINANCE.id
    assert not view.crossed


def test_a_venue_without_a_quote_is_listed_as_such() -> None:
    view = consolidate("BTC", "USDT", ALL, {}, {})
    assert [line.problem for line in view.lines] == [NO_QUOTE_YET] * 3
    assert view.best_bid is None
    assert view.best_ask is None
    assert not view.crossed


def test_ties_go_to_the_larger_size_then_the_lower_instrument_id() -> None:
    quotes = _quotes(
        _quote(BINANCE.id, "100.00", "100.20", bid_size="2", ask_size="1"),
        _quote(COINBASE.id, "100.00", "100.20", bid_size="1", ask_size="3"),
        _quote(KRAKEN.id, "100.00", "100.20", bid_size="2", ask_size="3"),
    )
    view = consolidate("BTC", "USDT", ALL, quotes, {})
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == KRAKEN.id
    assert view.best_ask is not None
    assert view.best_ask.instrument_id == COINBASE.id


def test_a_side_of_size_zero_is_no_best() -> None:
    quotes = _quotes(
        _quote(BINANCE.id, "100.00", "100.20"),
        _quote(COINBASE.id, "100.10", "100.15", bid_size="0", ask_size="0"),
    )
    view = consolidate("BTC", "USDT", ALL, quotes, {})
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == BINANCE.id
    assert view.best_ask is not None
    assert view.best_ask.instrument_id == BINANCE.id


def test_an_unknown_pair_has_no_lines() -> None:
    assert consolidate("DOGE", "USDT", ALL, {}, {}).lines == ()


@pytest.mark.parametrize(
    ("base", "quote", "field"), [("btc", "USDT", "base"), ("BTC", "", "quote"), ("B-C", "USDT", "base")]
)
def test_a_malformed_asset_code_is_refused_naming_the_field(base: str, quote: str, field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        consolidate(base, quote, ALL, {}, {})
    assert caught.value.field == field


def test_pairs_lists_each_pair_once() -> None:
    assert pairs(ALL) == (("BTC", "USD"), ("BTC", "USDT"), ("ETH", "USDT"))
