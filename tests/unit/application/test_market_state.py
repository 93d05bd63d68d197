"""MarketState: last trade and quote per instrument, the cache, and L2 books kept in sync or counted."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.memory import InMemoryCache
from application.market_state import MarketState
from application.messages import FeedStatusChanged
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.risk import MarketDataState
from tests.builders import BTCUSDT, ETHUSDT, TS

D = Decimal


def trade(price: str, ts: int = TS) -> TradeTick:
    return TradeTick.create(
        instrument_id=BTCUSDT, price=price, size="1", trade_id=f"T{ts}", ts_event=ts, ts_init=ts
    )


def quote(bid: str, ask: str, ts: int = TS) -> QuoteTick:
    return QuoteTick.create(
        instrument_id=BTCUSDT,
        bid_price=bid,
        bid_size="1",
        ask_price=ask,
        ask_size="1",
        ts_event=ts,
        ts_init=ts,
    )


def snapshot(sequence: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> BookSnapshot:
    return BookSnapshot.create(
        instrument_id=BTCUSDT, bids=bids, asks=asks, sequence=sequence, ts_event=TS, ts_init=TS
    )


def delta(
    first: int, last: int, bids: Sequence[tuple[str, str]] = (), asks: Sequence[tuple[str, str]] = ()
) -> BookDelta:
    return BookDelta.create(
        instrument_id=BTCUSDT,
        bids=bids,
        asks=asks,
        first_sequence=first,
        last_sequence=last,
        ts_event=TS,
        ts_init=TS,
    )


def test_the_last_price_is_the_last_trade_else_the_quote_mid_else_none() -> None:
    market = MarketState()
    assert market.last_price(BTCUSDT) is None
    assert market.last_price_ts(BTCUSDT) is None

    market.on_quote(quote("99", "101", ts=TS + 1))
    assert (market.last_price(BTCUSDT), market.last_price_ts(BTCUSDT)) == (D(100), TS + 1)

    market.on_trade(trade("100.5", ts=TS + 2))
    market.on_trade(trade("100.7", ts=TS + 3))
    market.on_quote(quote("98", "99", ts=TS + 4))  # a newer quote does not replace the last trade
    assert (market.last_price(BTCUSDT), market.last_price_ts(BTCUSDT)) == (D("100.7"), TS + 3)
    assert market.trades_seen == 2
    assert market.last_price(ETHUSDT) is None


def test_quotes_go_to_the_cache() -> None:
    cache = InMemoryCache()
    market = MarketState(cache=cache)
    latest = quote("99", "101")

    market.on_quote(latest)

    assert cache.get_quote(BTCUSDT) == latest
    assert market.quotes[BTCUSDT] == latest


def test_a_book_follows_its_snapshot_and_deltas() -> None:
    market = MarketState()

    market.on_book_snapshot(snapshot(10, [("99", "1")], [("101", "2")]))
    market.on_book_delta(delta(11, 12, bids=[("100", "3")], asks=[("101", "0"), ("102", "1")]))

    book = market.books[BTCUSDT]
    assert book.best_bid() == (D(100), D(3))
    assert book.best_ask() == (D(102), D(1))
    assert market.book_errors == 0


def test_a_delta_before_any_snapshot_or_after_a_gap_is_counted_until_the_next_snapshot() -> None:
    market = MarketState()
    market.on_book_delta(delta(1, 1, bids=[("99", "1")]))
    assert market.book_errors == 1

    market.on_book_snapshot(snapshot(10, [("99", "1")], [("101", "2")]))
    market.on_book_delta(delta(15, 16, bids=[("100", "1")]))  # 11..14 missed
    market.on_book_delta(delta(17, 17, bids=[("100", "2")]))  # out of sync: not applied
    assert market.book_errors == 3
    assert not market.books[BTCUSDT].synced

    market.on_book_snapshot(snapshot(20, [("98", "1")], [("101", "2")]))
    market.on_book_delta(delta(21, 21, bids=[("99", "5")]))
    assert market.books[BTCUSDT].synced
    assert market.books[BTCUSDT].best_bid() == (D(99), D(5))
    assert market.book_errors == 3


def test_a_crossed_snapshot_or_a_malformed_delta_is_counted_not_raised() -> None:
    # Plain constructors: what a replay of a corrupt store, or a careless feed, could hand over.
    market = MarketState()
    market.on_book_snapshot(BookSnapshot(BTCUSDT, ((D(102), D(1)),), ((D(101), D(1)),), 5, TS, TS))
    assert market.book_errors == 1
    assert not market.books[BTCUSDT].synced

    market.on_book_snapshot(snapshot(10, [("99", "1")], [("101", "2")]))
    market.on_book_delta(BookDelta(BTCUSDT, ((D(99), D(-1)),), (), 11, 11, TS, TS))
    assert market.book_errors == 2
    assert not market.books[BTCUSDT].synced


def test_an_invalidated_book_is_out_of_sync_until_the_next_snapshot() -> None:
    state = MarketState()
    state.on_book_snapshot(snapshot(10, [("99", "1")], [("101", "1")]))
    state.on_book_invalidated(BookInvalidated(BTCUSDT, "feed gap", TS, TS))

    book = state.books[BTCUSDT]
    assert not book.synced
    assert book.out_of_sync_reason == "feed gap"
    state.on_book_snapshot(snapshot(20, [("98", "1")], [("102", "1")]))
    assert book.synced
    state.on_book_invalidated(BookInvalidated(ETHUSDT, "never seen", TS, TS))  # no book: nothing to do


# -- usable data: connection and book -----------------------------------------------------------


def feed_status(connected: bool, ts: int = TS, reason: str = "connection lost") -> FeedStatusChanged:
    return FeedStatusChanged(
        feed="binance", instruments=(BTCUSDT,), connected=connected, reason=reason, ts_event=ts
    )


def test_data_state_follows_the_connection_and_marks_the_book_out_of_sync_until_a_snapshot() -> None:
    market = MarketState()
    market.on_trade(trade("100", TS))
    market.on_book_snapshot(snapshot(1, [("99", "1")], [("101", "1")]))
    assert market.data_state(BTCUSDT) == MarketDataState(
        instrument_id=BTCUSDT, last_price_ts=TS, book_synced=True
    )

    market.on_feed_status(feed_status(False))

    down = market.data_state(BTCUSDT)
    assert (down.connected, down.disconnect_reason, down.book_synced) == (False, "connection lost", False)
    assert not down.usable(TS, None)
    assert market.data_state(ETHUSDT).connected  # another feed's instrument is untouched

    market.on_feed_status(feed_status(True, reason="reconnected"))
    back = market.data_state(BTCUSDT)
    assert back.connected
    assert back.book_synced is False  # the book waits for its resync snapshot
    market.on_book_snapshot(snapshot(5, [("99", "1")], [("101", "1")]))
    assert market.data_state(BTCUSDT).usable(TS, None)


def test_an_invalidated_book_is_reported_out_of_sync_with_its_reason() -> None:
    market = MarketState()
    market.on_quote(quote("99", "101"))
    market.on_book_snapshot(snapshot(1, [("99", "1")], [("101", "1")]))

    market.on_book_invalidated(BookInvalidated(BTCUSDT, "gap at 7", TS, TS))

    data = market.data_state(BTCUSDT)
    assert (data.book_synced, data.book_reason) == (False, "gap at 7")
    assert not data.usable(TS, None)


def test_an_instrument_without_a_book_or_status_is_connected_with_no_book() -> None:
    """A backtest's replay never reports a connection: its data is up while it flows."""
    market = MarketState()
    market.on_trade(trade("100", TS))

    assert market.data_state(BTCUSDT) == MarketDataState(instrument_id=BTCUSDT, last_price_ts=TS)


def test_every_market_event_is_counted_by_type_and_instrument() -> None:
    market = MarketState()
    market.on_trade(trade("100"))
    market.on_trade(trade("101", TS + 1))
    market.on_quote(quote("99", "101"))
    market.on_book_snapshot(snapshot(1, [("99", "1")], [("101", "1")]))
    market.on_book_invalidated(BookInvalidated(instrument_id=ETHUSDT, reason="gap", ts_event=TS, ts_init=TS))
    assert {kind: counts for kind, counts in market.events.items() if counts} == {
        TradeTick: {BTCUSDT: 2},
        QuoteTick: {BTCUSDT: 1},
        BookSnapshot: {BTCUSDT: 1},
        BookInvalidated: {ETHUSDT: 1},
    }
