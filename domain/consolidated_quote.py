"""The best bid and offer for one asset pair across every venue that lists it.

Venues quote the same pair separately (``BTCUSDT.BINANCE``, ``BTC-USDT.COINBASE``); the
consolidated view puts their top of book side by side and names the best price of each side
and where it is. Only instruments with exactly the pair's base and quote count: USDT is not
USD, so ``BTC-USD.KRAKEN`` is no line of BTC/USDT.

A venue whose data is not usable (feed down, book out of sync, too old: the caller says which
and why) or that has no quote yet is still listed, with why, but never gives the best price:
a stale price would look like an opportunity that is not there. When the best bid is at or
above the best ask the consolidated book is ``crossed``: an arbitrage between venues, or one
venue's data lagging. It is reported as it is, never smoothed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.instrument import _asset as _asset_code  # the instruments' own rule for asset codes
from domain.market_data import QuoteTick
from domain.values import ZERO

NO_QUOTE_YET = "no quote received yet"


def check_asset(value: object, field: str) -> str:
    """``value`` as an asset code (upper case, e.g. BTC or USDT); InvalidValue naming ``field``."""
    return _asset_code(value, field)


def pairs(instruments: Iterable[Instrument]) -> tuple[tuple[str, str], ...]:
    """Every (base, quote) pair ``instruments`` trade, sorted, each once."""
    return tuple(sorted({(instrument.base, instrument.quote) for instrument in instruments}))


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueLine:
    """One instrument's top of book in the consolidated view.

    ``quote`` is None before the first one; ``problem`` says why the line does not count
    for the best prices ("" when it does: ``usable``).
    """

    instrument_id: InstrumentId
    quote: QuoteTick | None
    problem: str = ""

    @property
    def venue(self) -> str:
        return self.instrument_id.venue

    @property
    def usable(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True, kw_only=True)
class BestPrice:
    """The best price of one side, its size and the instrument (so the venue) showing it."""

    price: Decimal
    size: Decimal
    instrument_id: InstrumentId

    @property
    def venue(self) -> str:
        return self.instrument_id.venue


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidatedQuote:
    """Best bid and ask of ``base``/``quote`` across venues, and every venue's line.

    ``best_bid`` / ``best_ask`` are None when no usable venue shows that side. ``lines`` are
    in instrument id order.
    """

    base: str
    quote: str
    best_bid: BestPrice | None
    best_ask: BestPrice | None
    lines: tuple[VenueLine, ...]

    @property
    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask (locked counts as crossed)."""
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid.price >= ask.price


def consolidate(
    base: str,
    quote: str,
    instruments: Iterable[Instrument],
    quotes: Mapping[InstrumentId, QuoteTick],
    problems: Mapping[InstrumentId, str],
) -> ConsolidatedQuote:
    """The consolidated quote of ``base``/``quote``.

    ``quotes`` holds the latest quote per instrument; ``problems`` names the instruments whose
    data is not usable, with why. The best bid is the highest usable bid (ties: the larger
    size, then the lower instrument id), the best ask the lowest usable ask (same ties). A side
    of size zero shows no liquidity and is never a best. Raises InvalidValue naming ``base``
    or ``quote`` for a malformed asset code; a pair no instrument trades gives no lines.
    """
    base = check_asset(base, "base")
    quote = check_asset(quote, "quote")
    lines = []
    for instrument in sorted(instruments, key=lambda i: i.id):
        if instrument.base != base or instrument.quote != quote:
            continue
        tick = quotes.get(instrument.id)
        problem = problems.get(instrument.id, "")
        if tick is None:
            problem = problem or NO_QUOTE_YET
        lines.append(VenueLine(instrument_id=instrument.id, quote=tick, problem=problem))
    best_bid: BestPrice | None = None
    best_ask: BestPrice | None = None
    for line in lines:  # in id order, so a full tie keeps the lower id
        tick = line.quote
        if tick is None or not line.usable:
            continue
        if tick.bid_size > ZERO and (
            best_bid is None
            or tick.bid_price > best_bid.price
            or (tick.bid_price == best_bid.price and tick.bid_size > best_bid.size)
        ):
            best_bid = BestPrice(price=tick.bid_price, size=tick.bid_size, instrument_id=line.instrument_id)
        if tick.ask_size > ZERO and (
            best_ask is None
            or tick.ask_price < best_ask.price
            or (tick.ask_price == best_ask.price and tick.ask_size > best_ask.size)
        ):
            best_ask = BestPrice(price=tick.ask_price, size=tick.ask_size, instrument_id=line.instrument_id)
    return ConsolidatedQuote(base=base, quote=quote, best_bid=best_bid, best_ask=best_ask, lines=tuple(lines))
