"""The order manager: intents become orders, journaled and committed before they are sent; cancels."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from application.commands import CancelAllOrders, CancelOrder, SubmitOrder, SubmitResult
from application.execution.held_stops import HeldStops
from application.execution.order_journal import OrderJournal
from application.execution.risk_monitor import RiskMonitor
from application.market_state import MarketState
from application.messages import IntentRejected, VenueOrder
from application.ports import Broker, Clock, EventBus
from domain.errors import DomainError, IllegalTransition, InstrumentRuleViolation
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.market_data import TradeTick
from domain.orders import Order, OrderStatus
from domain.portfolio import Portfolio
from domain.risk import (
    PreTradeRisk,
    RiskLimitBreached,
    RiskLimits,
    RiskReason,
    RiskRejection,
    TradingState,
)
from domain.values import ZERO, OrderSide, plain

log = logging.getLogger("tradeplane.execution")


class UnknownOrder(DomainError, KeyError):
    code = "UNKNOWN_ORDER"

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"unknown order {client_order_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(slots=True)
class OrderStats:
    intents: int = 0
    orders_submitted: int = 0
    risk_rejections: int = 0


class OrderManager:
    """Turns intents into orders, journaled before they are sent, and cancels them.

    ``submit`` (the SubmitOrder command): instrument rules (tick, lot, minimums), pre-trade
    risk, then the order is journaled and committed BEFORE it reaches the broker; a store that
    cannot commit keeps it from the broker (it is rejected, and trading halts). A refused
    intent is published (IntentRejected) and returned, never raised. A stop order the broker
    cannot hold is held by the engine (``HeldStops``) until the stop manager sees the market
    trade through it. Submission is idempotent on the client order id. What the broker then
    reports is applied by ``BrokerReports``, on the same journal.
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        broker: Broker,
        portfolio: Portfolio,
        market: MarketState,
        risk: PreTradeRisk,
        monitor: RiskMonitor,
        clock: Clock,
        journal: OrderJournal,
        held_stops: HeldStops,
        order_id_prefix: str = "TP",
    ) -> None:
        self._bus = bus
        self._broker = broker
        self._portfolio = portfolio
        self._market = market
        self._risk = risk
        self._monitor = monitor
        self._clock = clock
        self._held = held_stops
        self._native_stops = broker.supports_stop_orders
        self._spot_account = broker.spot_account
        self._prefix = order_id_prefix
        self._sequence = 0
        self._journal = journal
        self.stats = OrderStats()
        self.on_sent: Callable[[Order], None] | None = None
        """Told of each order just before it goes to the broker (metrics: orders, latency)."""

    # -- queries ----------------------------------------------------------------------------

    @property
    def limits(self) -> RiskLimits:
        """The pre-trade limits in force (their ``max_data_age_ns`` also judges data health)."""
        return self._risk.limits

    @property
    def open_orders(self) -> dict[ClientOrderId, Order]:
        """Working orders (held stops included), by client order id."""
        return self._journal.open_orders

    @property
    def orders(self) -> dict[ClientOrderId, Order]:
        """Working orders and the most recent closed ones."""
        return self._journal.orders

    def find(self, client_order_id: str) -> Order | None:
        """An order of this session or of the trade store, or None."""
        return self._journal.find(ClientOrderId(client_order_id))

    def get(self, client_order_id: str) -> Order:
        """Like ``find``; raises UnknownOrder."""
        order = self._journal.find(ClientOrderId(client_order_id))
        if order is None:
            raise UnknownOrder(client_order_id)
        return order

    def working_quantity(self, instrument_id: InstrumentId) -> Decimal:
        """Signed quantity still to fill on working orders (held stops included)."""
        total = ZERO
        for order in self._journal.open_orders.values():
            if order.instrument_id == instrument_id:
                leaves = order.quantity - order.filled_quantity
                total += leaves if order.side is OrderSide.BUY else -leaves
        return total

    @property
    def held_stops(self) -> tuple[Order, ...]:
        """The stop orders the engine holds (not sent yet), in the order they were held."""
        return tuple(self._held)

    def is_held(self, client_order_id: ClientOrderId) -> bool:
        """True while the engine holds this stop order (it has not been sent)."""
        return client_order_id in self._held

    # -- commands -----------------------------------------------------------------------------

    def submit(self, command: SubmitOrder) -> SubmitResult:
        """The SubmitOrder handler; a refusal is published (IntentRejected), logged and returned."""
        intent, coid = command.intent, command.client_order_id
        if coid is not None:
            existing = self._journal.find(coid)
            if existing is not None:
                return SubmitResult(existing)
        self.stats.intents += 1
        now = self._clock.now_ns()
        iid = intent.instrument_id
        try:
            self._check_instrument(intent, self._portfolio.instruments[iid])
        except InstrumentRuleViolation as error:
            rejection = RiskRejection(reason=RiskReason.INSTRUMENT_RULE, message=str(error))
            return self._refuse(intent, (rejection,), error, now)
        decision = self._risk.check(
            intent,
            portfolio=self._portfolio,
            open_orders=list(self._journal.open_orders.values()),
            last_price=self._market.last_price(iid),
            last_price_ts=self._market.last_price_ts(iid),
            now_ns=now,
            trading_state=self._monitor.state,
            data=self._market.data_state(iid),
            spot_account=self._spot_account,
        )
        if not decision.approved:
            return self._refuse(intent, decision.rejections, RiskLimitBreached(decision.rejections), now)
        order = intent.to_order(coid or self._next_client_order_id(), now)
        self._journal.add(order)
        if HeldStops.should_hold(order, native_stops=self._native_stops):
            self._held.add(order)
            self._monitor.commit_trades()
            log.info(
                "holding %s engine-side until the stop %s trades", order.client_order_id, order.stop_price
            )
            return SubmitResult(order)
        self._send(order, now)
        return SubmitResult(order)

    def cancel(self, command: CancelOrder) -> Order:
        """Ask to cancel an order; a held stop is canceled at once. Raises UnknownOrder or
        IllegalTransition (a closed order)."""
        order = self.get(command.client_order_id)
        now = self._clock.now_ns()
        if self._held.pop(order.client_order_id) is not None:
            order.cancel(now, "canceled before its stop traded")
            self._journal.close(order)
            self._monitor.commit_trades()
            return order
        order.request_cancel(now)
        self._journal.record(order)
        if not self._monitor.commit_trades():  # the broker hears of a cancel only once it is recorded
            order.cancel_rejected("not sent: the trades store could not record the cancel", now)
            self._journal.record(order)
            return order
        self._broker.cancel(order)
        return order

    def cancel_all(self, command: CancelAllOrders) -> tuple[Order, ...]:
        """Cancel every working order (of one instrument if given); returns those asked."""
        asked = []
        for order in list(self._journal.open_orders.values()):
            if command.instrument_id is not None and order.instrument_id != command.instrument_id:
                continue
            if order.status.is_terminal or order.status is OrderStatus.CANCEL_PENDING:
                continue
            asked.append(self.cancel(CancelOrder(order.client_order_id)))
        return tuple(asked)

    def trigger(self, order: Order, tick: TradeTick) -> None:
        """A held stop's trade has come (the stop manager saw it): send it, unless trading is HALTED."""
        order.trigger(tick.ts_event, tick.price)
        self._journal.record(order)
        now = self._clock.now_ns()
        if self._monitor.state is TradingState.HALTED:
            order.reject(f"stop triggered at {tick.price} while trading is HALTED", now)
            self._journal.close(order)
            self._monitor.commit_trades()
            return
        self._send(order, now)

    # -- recovery -----------------------------------------------------------------------------

    def adopt(self, order: Order) -> None:
        """Take back a working order read from the trade store (a restart): it is tracked again,
        its journal continues where it stopped, and a stop not yet triggered is held."""
        if order.status.is_terminal:
            raise IllegalTransition(order.client_order_id, order.status.value, "ADOPTED")
        self._journal.track(order, recorded=len(order.events))
        if HeldStops.should_hold(order, native_stops=self._native_stops):
            self._held.add(order)

    def adopt_external(self, venue: VenueOrder) -> Order:
        """Journal and track an order the broker has working that this engine never placed
        (reconciliation): SUBMITTED, with no strategy; its acknowledgement and fills follow as
        ordinary reports. Raises DomainError when the venue's order cannot be represented."""
        order = Order(
            client_order_id=venue.client_order_id,
            instrument_id=venue.instrument_id,
            side=venue.side,
            order_type=venue.order_type,
            quantity=venue.quantity,
            price=venue.price,
            time_in_force=venue.time_in_force,
            post_only=venue.post_only,
            ts_init=venue.ts_last,
        )
        order.submit(venue.ts_last)
        self._journal.add(order)
        self._monitor.commit_trades()
        return order

    def continue_sequence(self, last: int) -> None:
        """Generated client order ids continue after ``last`` (the highest stored one)."""
        self._sequence = max(self._sequence, last)

    # -- internals --------------------------------------------------------------------------------

    def _next_client_order_id(self) -> ClientOrderId:
        """The next ``{prefix}-{n}`` not already taken (a client may have chosen one)."""
        while True:
            self._sequence += 1
            candidate = ClientOrderId(f"{self._prefix}-{self._sequence}")
            if self._journal.find(candidate) is None:
                return candidate

    def _check_instrument(self, intent: OrderIntent, instrument: Instrument) -> None:
        instrument.check_quantity(intent.quantity)
        if intent.price is not None:
            instrument.check_price(intent.price)
        if intent.stop_price is not None:
            instrument.check_price(intent.stop_price, "stop_price")
        reference = intent.price or intent.stop_price or self._market.last_price(intent.instrument_id)
        if reference is not None and not intent.reduce_only:
            instrument.check_notional(reference, intent.quantity)

    def _refuse(
        self,
        intent: OrderIntent,
        rejections: tuple[RiskRejection, ...],
        error: RiskLimitBreached | InstrumentRuleViolation,
        now: int,
    ) -> SubmitResult:
        self.stats.risk_rejections += 1
        log.warning(
            "intent of %s to %s %s %s rejected: %s",
            intent.strategy_id,
            intent.side.name,
            plain(intent.quantity),
            intent.instrument_id,
            "; ".join(f"[{r.reason.value}] {r.message}" for r in rejections),
        )
        self._bus.publish(IntentRejected(intent=intent, rejections=rejections, ts_event=now))
        return SubmitResult(None, rejections, error)

    def _send(self, order: Order, now: int) -> None:
        order.submit(now)
        self._journal.record(order)
        if not self._monitor.commit_trades():  # durable before the broker can know of it, or not sent
            order.reject("not sent: the trades store could not record it", now)
            self._journal.close(order)
            return
        self.stats.orders_submitted += 1
        if self.on_sent is not None:
            self.on_sent(order)
        if log.isEnabledFor(logging.INFO):  # the arguments are formatted eagerly: not per order for nothing
            log.info(
                "order %s %s %s %s %s sent (%s)",
                order.client_order_id,
                order.side.name,
                plain(order.quantity),
                order.instrument_id,
                order.effective_type.value,
                order.strategy_id,
            )
        self._broker.submit(order)
