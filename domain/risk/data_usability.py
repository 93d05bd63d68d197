"""Whether one instrument's market data can be traded on: the one definition risk and health share.

Data is usable when the feed carrying it is connected, its book (when it has one) is in
sync, and the last price is known and no older than the risk limit ``max_data_age_ns``. The
engine's health, its status and the pre-trade rules all ask this object, so an instrument
the operator sees as unusable is exactly one on which no new order passes. Time comes in
as ``now_ns``: nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.identifiers import InstrumentId

from ._text import duration
from .reasons import RiskReason


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataState:
    """What is known of one instrument's market data at one moment.

    ``connected`` is False while the feed carrying it is disconnected (``disconnect_reason``
    says why); ``last_price_ts`` is the event time of the last price (None: no price yet);
    ``book_synced`` is None for an instrument without an L2 book, else whether it is in sync
    (``book_reason`` says why not).
    """

    instrument_id: InstrumentId
    connected: bool = True
    disconnect_reason: str = ""
    last_price_ts: int | None = None
    book_synced: bool | None = None
    book_reason: str = ""

    def age_ns(self, now_ns: int) -> int | None:
        """How old the last price is at ``now_ns``; None without one."""
        return None if self.last_price_ts is None else now_ns - self.last_price_ts

    def problem(self, now_ns: int, max_age_ns: int | None) -> tuple[RiskReason, str] | None:
        """The first reason the data is not usable, with a sentence naming it; None when usable.

        ``max_age_ns`` None leaves the age unchecked (only a price is required)."""
        iid = self.instrument_id
        if not self.connected:
            return RiskReason.FEED_DOWN, self.feed_down_message()
        if self.book_synced is False:
            return RiskReason.BOOK_OUT_OF_SYNC, self.book_message()
        age = self.age_ns(now_ns)
        if age is None:
            return RiskReason.NO_MARKET_DATA, f"no price received for {iid} yet"
        if max_age_ns is not None and age > max_age_ns:
            return (
                RiskReason.STALE_MARKET_DATA,
                f"the last {iid} price is {duration(age)} old, older than the max data age"
                f" {duration(max_age_ns)}",
            )
        return None

    def usable(self, now_ns: int, max_age_ns: int | None) -> bool:
        """True when ``problem`` finds nothing."""
        return self.problem(now_ns, max_age_ns) is None

    def feed_down_message(self) -> str:
        why = f": {self.disconnect_reason}" if self.disconnect_reason else ""
        return f"the market-data feed of {self.instrument_id} is disconnected{why}"

    def book_message(self) -> str:
        why = f": {self.book_reason}" if self.book_reason else ""
        return f"the {self.instrument_id} order book is out of sync{why}"
