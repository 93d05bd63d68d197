"""Commands: requests with exactly one handler, run at once, whose result goes back to the sender.

An event says that something happened and may have many handlers, or none; a command asks
for something to happen and has exactly one (``MessageBus.execute``). Submitting an intent,
cancelling an order and halting are commands: the sender learns at once what became of them
(the order, or the refusal with its reasons) and keeps no copy of the receiver's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.errors import InstrumentRuleViolation
from domain.identifiers import ClientOrderId, InstrumentId
from domain.intents import OrderIntent
from domain.orders import Order
from domain.risk import RiskLimitBreached, RiskLimits, RiskRejection, TradingState

R_co = TypeVar("R_co", covariant=True)


class Command(Generic[R_co]):
    """Base of every command; ``R_co`` is the type its handler returns."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What became of a ``SubmitOrder``: the order it became, or the refusal (nothing was sent).

    ``order`` may already be closed when the result is read (a paper venue with no latency
    fills a market order before the command returns). A refused intent has no order,
    ``rejections`` lists every failed rule and ``error`` is the exception ``unwrap`` raises.
    """

    order: Order | None
    rejections: tuple[RiskRejection, ...] = ()
    error: RiskLimitBreached | InstrumentRuleViolation | None = None

    def unwrap(self) -> Order:
        """The order; raises RiskLimitBreached or InstrumentRuleViolation when it was refused."""
        if self.order is None:
            assert self.error is not None  # a result is an order or a refusal
            raise self.error
        return self.order


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOrder(Command[SubmitResult]):
    """Check ``intent`` (instrument rules, pre-trade risk), journal it as an order and send it.

    With a ``client_order_id`` already known, the known order is the result and nothing is
    sent (submission is idempotent on the client order id).
    """

    intent: OrderIntent
    client_order_id: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder(Command[Order]):
    """Ask the venue to cancel one order (a stop still held by the engine is canceled at once)."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class CancelAllOrders(Command[tuple[Order, ...]]):
    """Cancel every working order, or those of one instrument; the result is the orders asked."""

    instrument_id: InstrumentId | None = None


@dataclass(frozen=True, slots=True)
class Halt(Command[TradingState]):
    """The kill switch: no order may be placed until ``Resume``."""

    reason: str


@dataclass(frozen=True, slots=True)
class Resume(Command[TradingState]):
    """Lift a manual halt (``reset_peak`` also restarts the drawdown from the current equity)."""

    reset_peak: bool = False


@dataclass(frozen=True, slots=True)
class UpdateRiskLimits(Command[TradingState]):
    """New limits from the next order on, for pre-trade risk and the trading state alike."""

    limits: RiskLimits
