"""Why risk said no: stable reason codes, rejections with a human sentence, and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from domain.errors import DomainError
from domain.identifiers import InstrumentId


class RiskReason(Enum):
    """Machine-readable risk reasons; the string values are stable (metrics, gRPC, stores)."""

    # Pre-trade rejections.
    MAX_ORDER_QUANTITY = "MAX_ORDER_QUANTITY"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_POSITION = "MAX_POSITION"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    PRICE_BAND = "PRICE_BAND"
    RATE_LIMIT = "RATE_LIMIT"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    NO_MARKET_DATA = "NO_MARKET_DATA"
    FEED_DOWN = "FEED_DOWN"  # the instrument's market-data feed is disconnected
    BOOK_OUT_OF_SYNC = "BOOK_OUT_OF_SYNC"  # its L2 book lost the thread until the next snapshot
    TRADING_HALTED = "TRADING_HALTED"
    REDUCE_ONLY = "REDUCE_ONLY"
    INSTRUMENT_RULE = "INSTRUMENT_RULE"  # tick, lot, minimum quantity or notional of the venue
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"  # a spot account's free balance cannot pay
    # Causes of trading-state changes.
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    KILL_SWITCH = "KILL_SWITCH"
    MANUAL_RESUME = "MANUAL_RESUME"
    NEW_TRADING_DAY = "NEW_TRADING_DAY"
    # Position exits.
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"
    TRAILING_STOP = "TRAILING_STOP"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRejection:
    """One failed rule: ``reason`` to branch on, ``message`` to show, ``limit`` and ``value`` to log.

    ``limit`` and ``value`` are the numbers compared (Decimal amounts, or int counts and
    nanoseconds); either is None when the rule has no number (e.g. TRADING_HALTED).
    """

    reason: RiskReason
    message: str
    limit: Decimal | int | None = None
    value: Decimal | int | None = None
    instrument_id: InstrumentId | None = None


class RiskLimitBreached(DomainError):
    """An intent was rejected by pre-trade risk; carries every rejection, the first one first.

    ``reason``, ``limit`` and ``value`` are those of the first rejection, for clients that
    only look at one.
    """

    code = "RISK_LIMIT_BREACHED"

    def __init__(self, rejections: tuple[RiskRejection, ...]) -> None:
        if not rejections:
            raise ValueError("RiskLimitBreached needs at least one rejection")
        self.rejections = rejections
        first = rejections[0]
        self.reason = first.reason
        self.limit = first.limit
        self.value = first.value
        super().__init__("; ".join(r.message for r in rejections))


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The outcome of a pre-trade check: approved when ``rejections`` is empty.

    Every failing rule is reported (not only the first), so an operator sees at once all
    that must change for the order to pass.
    """

    rejections: tuple[RiskRejection, ...] = ()

    @property
    def approved(self) -> bool:
        return not self.rejections

    @property
    def reasons(self) -> tuple[RiskReason, ...]:
        return tuple(r.reason for r in self.rejections)

    @property
    def message(self) -> str:
        """All rejection sentences joined; "approved" when there is none."""
        return "; ".join(r.message for r in self.rejections) if self.rejections else "approved"

    def raise_if_rejected(self) -> None:
        """Raise RiskLimitBreached carrying the rejections, or do nothing when approved."""
        if self.rejections:
            raise RiskLimitBreached(self.rejections)


APPROVED = RiskDecision()
"""The one approved decision (shared: decisions are immutable)."""
