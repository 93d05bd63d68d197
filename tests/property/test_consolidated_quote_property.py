"""Invariants of the consolidated quote over random venues, quotes and unusable sets."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.consolidated_quote import consolidate
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.market_data import QuoteTick
from tests.builders import TS, make_instrument

VENUES = ("BINANCE", "COINBASE", "KRAKEN", "BYBIT", "OKX")
PRICES = st.integers(min_value=1, max_value=2000).map(lambda n: Decimal(n) / 10)
SIZES = st.integers(min_value=0, max_value=5).map(Decimal)


@st.composite
def markets(
    draw: st.DrawFn,
) -> tuple[list[Instrument], dict[InstrumentId, QuoteTick], dict[InstrumentId, str]]:
    venues = draw(st.lists(st.sampled_from(VENUES), min_size=1, max_size=5, unique=True))
    instruments = [make_instrument(instrument_id=f"BTC-USDT.{venue}") for venue in venues]
    instruments.append(make_instrument(instrument_id="BTC-USD.KRAKEN", quote="USD"))  # another pair
    quotes: dict[InstrumentId, QuoteTick] = {}
    problems: dict[InstrumentId, str] = {}
    for instrument in instruments:
        if draw(st.booleans()):
            low, high = sorted((draw(PRICES), draw(PRICES)))
            quotes[instrument.id] = QuoteTick(instrument.id, low, draw(SIZES), high, draw(SIZES), TS, TS)
        if draw(st.integers(0, 3)) == 0:
            problems[instrument.id] = "stale"
    return instruments, quotes, problems


@settings(max_examples=300, deadline=None)
@given(markets())
def test_the_best_prices_are_the_extremes_of_the_usable_quotes(
    market: tuple[list[Instrument], dict[InstrumentId, QuoteTick], dict[InstrumentId, str]],
) -> None:
    instruments, quotes, problems = market
    view = consolidate("BTC", "USDT", instruments, quotes, problems)
    pair = [i.id for i in instruments if i.quote == "USDT"]
    assert sorted(line.instrument_id for line in view.lines) == sorted(pair)
    usable = [quotes[i] for i in pair if i in quotes and i not in problems]
    bids = [q.bid_price for q in usable if q.bid_size > 0]
    asks = [q.ask_price for q in usable if q.ask_size > 0]
    if bids:
        assert view.best_bid is not None
        assert view.best_bid.price == max(bids)
        assert view.best_bid.instrument_id not in problems
        assert quotes[view.best_bid.instrument_id].bid_size == view.best_bid.size
        assert view.best_bid.size == max(q.bid_size for q in usable if q.bid_price == max(bids))
    else:
        assert view.best_bid is None
    if asks:
        assert view.best_ask is not None
        assert view.best_ask.price == min(asks)
        assert view.best_ask.instrument_id not in problems
    else:
        assert view.best_ask is None
    assert view.crossed == (bool(bids) and bool(asks) and max(bids) >= min(asks))
    for line in view.lines:
        assert line.usable == (line.instrument_id not in problems and line.instrument_id in quotes)


@settings(max_examples=100, deadline=None)
@given(markets(), st.randoms(use_true_random=False))
def test_the_order_of_the_instruments_does_not_matter(
    market: tuple[list[Instrument], dict[InstrumentId, QuoteTick], dict[InstrumentId, str]], rnd: object
) -> None:
    instruments, quotes, problems = market
    shuffled = list(instruments)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert consolidate("BTC", "USDT", shuffled, quotes, problems) == consolidate(
        "BTC", "USDT", instruments, quotes, problems
    )
