"""MarketState.consolidated: the consolidated quote, usability judged by the rule risk applies."""

from __future__ import annotations

from decimal import Decimal

from application.market_state import MarketState
from application.messages import FeedStatusChanged
from domain.market_data import QuoteTick
from tests.builders import TS, make_instrument

BINANCE = make_instrument()
COINBASE = make_instrument(instrument_id="BTC-USDT.COINBASE")
SECOND = 1_000_000_000


def _market() -> MarketState:
    market = MarketState()
    for instrument, bid, ask, ts in (
        (BINANCE, "100.00", "100.20", TS),
        (COINBASE, "100.10", "100.30", TS - 5 * SECOND),
    ):
        market.on_quote(
            QuoteTick.create(
                instrument_id=instrument.id,
                bid_price=bid,
                bid_size="1",
                ask_price=ask,
                ask_size="1",
                ts_event=ts,
                ts_init=ts,
            )
        )
    return market


def test_every_venue_with_usable_data_counts() -> None:
    view = _market().consolidated("BTC", "USDT", (BINANCE, COINBASE))
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == COINBASE.id
    assert view.best_bid.price == Decimal("100.10")
    assert all(line.usable for line in view.lines)


def test_a_venue_whose_feed_is_down_is_listed_but_not_counted() -> None:
    market = _market()
    market.on_feed_status(
        FeedStatusChanged(
            feed="coinbase", instruments=(COINBASE.id,), connected=False, reason="socket closed", ts_event=TS
        )
    )
    view = market.consolidated("BTC", "USDT", (BINANCE, COINBASE))
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == BINANCE.id
    line = next(line for line in view.lines if line.instrument_id == COINBASE.id)
    assert "socket closed" in line.problem


def test_a_venue_older_than_the_max_age_is_not_counted() -> None:
    view = _market().consolidated("BTC", "USDT", (BINANCE, COINBASE), now_ns=TS, max_age_ns=2 * SECOND)
    assert view.best_bid is not None
    assert view.best_bid.instrument_id == BINANCE.id
    assert [line.usable for line in view.lines] == [False, True]  # COINBASE first, 5 s old
